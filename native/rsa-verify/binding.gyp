# Built by scripts/build-native.mjs at `npm ci` (node-gyp, Node's own headers). It links against
# nothing: the OpenSSL symbols resolve at load time from the Node binary that loads it.
{
  "targets": [
    {
      "target_name": "rsa_verify",
      "sources": ["rsa_verify.c", "rsa_ifma.c"],
      "cflags": ["-Wall", "-Wextra", "-fvisibility=hidden", "-fstack-protector-strong"],
      "xcode_settings": { "OTHER_CFLAGS": ["-Wall", "-Wextra", "-fstack-protector-strong"] },
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=30000", "OPENSSL_NO_DEPRECATED"]
    }
  ]
}
