/*
 * RSA signature checks for JWS (RS256/384/512, PS256/384/512) with OpenSSL's verify context
 * set up once per key and kept.
 *
 * Why this file exists: node:crypto's `verify` builds its OpenSSL context anew on every call, and
 * OpenSSL 3 then fetches the digest and signature methods by name (hash tables under locks) and
 * allocates: a measured share of every RS256 check, which no node:crypto API avoids. With the
 * context kept a check costs what `openssl speed` gives (figures: docs/perf-history.md, item 41).
 *
 * On a CPU with AVX-512 IFMA, RS256/384/512 keys of 2048 to 4096 bits take the RSA arithmetic from
 * rsa_ifma.c instead of EVP_PKEY_verify (about half its time) and compare the PKCS #1 v1.5
 * encoding here; PS* keys and every other case keep EVP_PKEY_verify.
 *
 * What it does not do: parse tokens, choose algorithms or decide anything. It answers "is this a
 * valid signature of these bytes under this public key" and nothing else; src/workers/jwt
 * decides the rest, and falls back to node:crypto when this module did not build or is switched
 * off. It touches public keys only: nothing secret passes through.
 *
 * Threads: a verifier belongs to the JS thread that made it (napi_wrap on an object of that
 * thread's isolate); its OpenSSL contexts are never shared across threads.
 *
 * OpenSSL is not linked: the symbols resolve at load time from the Node binary (Node exports its
 * OpenSSL), so the checks run on the very OpenSSL node:crypto uses.
 */
#include <node_api.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsa_ifma.h"

/* The largest modulus rsa_ifma.c serves (4096 bits) in bytes. */
#define EM_MAX_BYTES 512

typedef struct {
  EVP_PKEY *pkey;
  EVP_PKEY_CTX *pctx; /* initialised for verify once: padding, digest, PSS salt */
  EVP_MD *md;
  EVP_MD_CTX *mdctx; /* re-initialised per check; kept to save its allocation */
  size_t sig_len;    /* the modulus size in bytes: the only signature length accepted */
  /* PKCS #1 v1.5 on a CPU with AVX-512 IFMA: the public operation by rsa_ifma.c, then the
   * encoding compared with the one expected (RFC 8017 §8.2.2), whose part before the digest,
   * 00 01 FF..FF 00 DigestInfo, is the same for every check. NULL: EVP_PKEY_verify. */
  RsaIfma *fast;
  unsigned char prefix[EM_MAX_BYTES];
  size_t prefix_len;
} Verifier;

/* Marks objects made by `create`, so `verify` never unwraps anything else. */
static const napi_type_tag VERIFIER_TAG = {0x706f72746375ULL, 0x7273612d7665ULL};

/* RFC 7518 §3.3, §3.5; 16384 is OpenSSL's own ceiling for RSA public operations. */
#define MIN_BITS 2048
#define MAX_BITS 16384
/* An SPKI of a 16384-bit key is ~2.1 KB; anything far larger is not one. */
#define MAX_SPKI_BYTES 8192

static void free_verifier(Verifier *v) {
  if (v == NULL) return;
  EVP_MD_CTX_free(v->mdctx);
  EVP_PKEY_CTX_free(v->pctx);
  EVP_MD_free(v->md);
  EVP_PKEY_free(v->pkey);
  rsa_ifma_free(v->fast);
  free(v);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free_verifier((Verifier *)data);
}

/* Throws an Error with OpenSSL's reason, if it gave one, and leaves its error queue empty: a
 * stale entry there would be read by the next node:crypto call on this thread. `create` empties
 * the queue before its OpenSSL calls, so the reason is its own; `verify` does not spend the time
 * on every check, so on its one failure branch (the digest) the reason may be an older one. */
static napi_value throw_openssl(napi_env env, const char *what) {
  char message[320];
  unsigned long code = ERR_peek_last_error();
  if (code != 0) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof reason);
    snprintf(message, sizeof message, "%s (%s)", what, reason);
  } else {
    snprintf(message, sizeof message, "%s", what);
  }
  ERR_clear_error();
  napi_throw_error(env, "ERR_NATIVE_RSA", message);
  return NULL;
}

/* For an N-API call that failed without throwing (an engine failure: out of memory, say): JS must
 * never get `undefined` for a verifier or an answer. */
static napi_value throw_unless_pending(napi_env env, const char *what) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) napi_throw_error(env, "ERR_NATIVE_RSA", what);
  return NULL;
}

/* The bytes of a Uint8Array (a Buffer is one); false after throwing a TypeError otherwise. */
static bool get_bytes(napi_env env, napi_value value, const char *name, const unsigned char **data, size_t *len) {
  static const unsigned char empty[1] = {0};
  bool is_typed = false;
  napi_typedarray_type type = napi_int8_array;
  void *ptr = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, len, &ptr, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a Uint8Array", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  /* An empty array may have no backing store: point at a valid empty buffer, not NULL. */
  *data = *len == 0 ? empty : (const unsigned char *)ptr;
  return true;
}

static bool get_args(napi_env env, napi_callback_info info, size_t expected, napi_value *argv) {
  size_t argc = expected;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc != expected) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_COUNT", "wrong number of arguments");
    return false;
  }
  return true;
}

/* Only the digests JWS names for RSA; anything else is refused before OpenSSL sees it. */
static const char *digest_name(napi_env env, napi_value value) {
  char name[16];
  size_t len = 0;
  /* len == strlen: no NUL inside; a longer string was cut short and matches nothing below */
  if (napi_get_value_string_utf8(env, value, name, sizeof name, &len) == napi_ok && len == strlen(name)) {
    if (strcmp(name, "sha256") == 0) return "SHA2-256";
    if (strcmp(name, "sha384") == 0) return "SHA2-384";
    if (strcmp(name, "sha512") == 0) return "SHA2-512";
  }
  napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "digest must be \"sha256\", \"sha384\" or \"sha512\"");
  return NULL;
}

/* Sets the kept context up for one JWS algorithm: PKCS #1 v1.5 or PSS (salt as long as the
 * digest, MGF1 with the same digest: RFC 7518 §3.5), over `md`. */
static bool set_up_context(Verifier *v, bool pss) {
  if (EVP_PKEY_verify_init(v->pctx) != 1) return false;
  if (EVP_PKEY_CTX_set_rsa_padding(v->pctx, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) <= 0) return false;
  if (EVP_PKEY_CTX_set_signature_md(v->pctx, v->md) <= 0) return false;
  if (pss) {
    if (EVP_PKEY_CTX_set_rsa_mgf1_md(v->pctx, v->md) <= 0) return false;
    if (EVP_PKEY_CTX_set_rsa_pss_saltlen(v->pctx, RSA_PSS_SALTLEN_DIGEST) <= 0) return false;
  }
  return true;
}

/* DigestInfo (RFC 8017 §9.2, note 1) up to the digest's own bytes. */
static const unsigned char INFO_SHA256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const unsigned char INFO_SHA384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const unsigned char INFO_SHA512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};
#define INFO_LEN 19

/* EMSA-PKCS1-v1_5 before the digest: 00 01, FF bytes, 00, DigestInfo (RFC 8017 §9.2 step 5). */
static void set_up_prefix(Verifier *v, const unsigned char *info, size_t hash_len) {
  size_t k = v->sig_len;
  v->prefix_len = k - hash_len;
  v->prefix[0] = 0x00;
  v->prefix[1] = 0x01;
  memset(v->prefix + 2, 0xff, v->prefix_len - INFO_LEN - 3);
  v->prefix[v->prefix_len - INFO_LEN - 1] = 0x00;
  memcpy(v->prefix + v->prefix_len - INFO_LEN, info, INFO_LEN);
}

/* Gives a PKCS #1 v1.5 verifier the IFMA path where this CPU, the key's size and its exponent
 * allow it (rsa_ifma.h); otherwise it keeps EVP_PKEY_verify. False only when OpenSSL failed. */
static bool set_up_fast(Verifier *v, const char *digest) {
  const unsigned char *info = INFO_SHA512;
  size_t hash_len = 64;
  if (strcmp(digest, "SHA2-256") == 0) {
    info = INFO_SHA256;
    hash_len = 32;
  } else if (strcmp(digest, "SHA2-384") == 0) {
    info = INFO_SHA384;
    hash_len = 48;
  }
  int bits = EVP_PKEY_get_bits(v->pkey);
  size_t rr_bits = rsa_ifma_rr_bits(bits);
  size_t k = v->sig_len;
  /* 11: the encoding's fixed bytes and at least 8 of padding (RFC 8017 §9.2 step 3) */
  if (!rsa_ifma_supported() || rr_bits == 0 || k > EM_MAX_BYTES || k < INFO_LEN + hash_len + 11) return true;
  BIGNUM *n = NULL;
  BIGNUM *e = NULL;
  BIGNUM *rr = BN_new();
  BN_CTX *ctx = BN_CTX_new();
  unsigned char n_bytes[EM_MAX_BYTES];
  unsigned char rr_bytes[EM_MAX_BYTES];
  bool ok = rr != NULL && ctx != NULL && EVP_PKEY_get_bn_param(v->pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
            EVP_PKEY_get_bn_param(v->pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1 && BN_set_bit(rr, (int)rr_bits) == 1 &&
            BN_mod(rr, rr, n, ctx) == 1 && BN_bn2binpad(n, n_bytes, (int)k) == (int)k && BN_bn2binpad(rr, rr_bytes, (int)k) == (int)k;
  if (ok && BN_num_bits(e) <= 64) v->fast = rsa_ifma_new(n_bytes, rr_bytes, k, bits, (uint64_t)BN_get_word(e));
  if (v->fast != NULL) set_up_prefix(v, info, hash_len);
  BN_free(n);
  BN_free(e);
  BN_free(rr);
  BN_CTX_free(ctx);
  return ok;
}

/* create(spkiDer: Uint8Array, digest: "sha256" | "sha384" | "sha512", pss: boolean, vector: boolean): Verifier
 * `vector` false keeps a PKCS #1 v1.5 verifier off the IFMA path (tests compare the two). */
static napi_value create(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  const unsigned char *der = NULL;
  size_t der_len = 0;
  if (!get_bytes(env, argv[0], "spki", &der, &der_len)) return NULL;
  const char *digest = digest_name(env, argv[1]);
  if (digest == NULL) return NULL;
  bool pss = false;
  bool vector = false;
  if (napi_get_value_bool(env, argv[2], &pss) != napi_ok || napi_get_value_bool(env, argv[3], &vector) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "pss and vector must be booleans");
    return NULL;
  }
  if (der_len == 0 || der_len > MAX_SPKI_BYTES) {
    napi_throw_error(env, "ERR_NATIVE_RSA", "not a DER SubjectPublicKeyInfo");
    return NULL;
  }

  ERR_clear_error();
  Verifier *v = calloc(1, sizeof *v);
  if (v == NULL) {
    napi_throw_error(env, "ERR_NATIVE_RSA", "out of memory");
    return NULL;
  }
  const unsigned char *p = der;
  v->pkey = d2i_PUBKEY(NULL, &p, (long)der_len);
  if (v->pkey == NULL || p != der + der_len) {
    free_verifier(v);
    return throw_openssl(env, "not a DER SubjectPublicKeyInfo");
  }
  if (!EVP_PKEY_is_a(v->pkey, "RSA")) {
    free_verifier(v);
    return throw_openssl(env, "not an RSA key");
  }
  int bits = EVP_PKEY_get_bits(v->pkey);
  if (bits < MIN_BITS || bits > MAX_BITS) {
    free_verifier(v);
    return throw_openssl(env, "RSA key size out of range (2048 to 16384 bits)");
  }
  v->sig_len = (size_t)EVP_PKEY_get_size(v->pkey);
  v->md = EVP_MD_fetch(NULL, digest, NULL);
  v->mdctx = EVP_MD_CTX_new();
  v->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, v->pkey, NULL);
  if (v->md == NULL || v->mdctx == NULL || v->pctx == NULL || !set_up_context(v, pss) || (!pss && vector && !set_up_fast(v, digest))) {
    free_verifier(v);
    return throw_openssl(env, "could not set up the verify context");
  }

  napi_value object;
  if (napi_create_object(env, &object) != napi_ok || napi_wrap(env, object, v, finalize, NULL, NULL) != napi_ok) {
    free_verifier(v);
    return throw_unless_pending(env, "could not make the verifier object");
  }
  /* From here the finalizer owns `v`. */
  if (napi_type_tag_object(env, object, &VERIFIER_TAG) != napi_ok || napi_object_freeze(env, object) != napi_ok) {
    return throw_unless_pending(env, "could not make the verifier object");
  }
  return object;
}

/* The Verifier behind an object made by `create`; NULL after throwing for anything else. */
static Verifier *get_verifier(napi_env env, napi_value value) {
  bool ours = false;
  napi_valuetype kind;
  if (napi_typeof(env, value, &kind) != napi_ok || kind != napi_object ||
      napi_check_object_type_tag(env, value, &VERIFIER_TAG, &ours) != napi_ok || !ours) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "verifier must come from create()");
    return NULL;
  }
  Verifier *v = NULL;
  if (napi_unwrap(env, value, (void **)&v) != napi_ok || v == NULL) throw_unless_pending(env, "could not read the verifier");
  return v;
}

/* RFC 8017 §8.2.2 steps 2-4 on the IFMA path: the public operation, then the encoding it gives
 * compared whole with the one expected. */
static bool check_encoding(const Verifier *v, const unsigned char *sig, const unsigned char *digest, size_t digest_len) {
  unsigned char em[EM_MAX_BYTES];
  return v->prefix_len + digest_len == v->sig_len && rsa_ifma_public(v->fast, sig, em) && memcmp(em, v->prefix, v->prefix_len) == 0 &&
         memcmp(em + v->prefix_len, digest, digest_len) == 0;
}

/* verify(verifier: Verifier, data: Uint8Array, signature: Uint8Array): boolean
 * true only for a valid signature; false for any other signature. Throws on wrong arguments
 * and on an internal OpenSSL failure (the caller counts that as invalid). */
static napi_value verify(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  Verifier *v = get_verifier(env, argv[0]);
  if (v == NULL) return NULL;
  const unsigned char *data = NULL;
  const unsigned char *sig = NULL;
  size_t data_len = 0;
  size_t sig_len = 0;
  if (!get_bytes(env, argv[1], "data", &data, &data_len)) return NULL;
  if (!get_bytes(env, argv[2], "signature", &sig, &sig_len)) return NULL;

  bool valid = false;
  if (sig_len == v->sig_len) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (EVP_DigestInit_ex2(v->mdctx, v->md, NULL) != 1 || EVP_DigestUpdate(v->mdctx, data, data_len) != 1 ||
        EVP_DigestFinal_ex(v->mdctx, digest, &digest_len) != 1) {
      return throw_openssl(env, "digest failed");
    }
    if (v->fast != NULL) {
      valid = check_encoding(v, sig, digest, digest_len);
    } else {
      valid = EVP_PKEY_verify(v->pctx, sig, sig_len, digest, digest_len) == 1;
      /* A bad signature leaves reasons on the queue; node:crypto must not find them later. */
      if (!valid) ERR_clear_error();
    }
  }
  napi_value result;
  if (napi_get_boolean(env, valid, &result) != napi_ok) return throw_unless_pending(env, "could not answer");
  return result;
}

/* recover(verifier: Verifier, signature: Uint8Array): Uint8Array | null
 * The IFMA path's public operation alone, s^e mod n (RFC 8017 §5.2.2), for tests and
 * diagnostics; null where the verifier does not take that path, or for a signature of the wrong
 * length or not below n. */
static napi_value recover(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  Verifier *v = get_verifier(env, argv[0]);
  if (v == NULL) return NULL;
  const unsigned char *sig = NULL;
  size_t sig_len = 0;
  if (!get_bytes(env, argv[1], "signature", &sig, &sig_len)) return NULL;
  unsigned char em[EM_MAX_BYTES];
  napi_value result;
  if (v->fast == NULL || sig_len != v->sig_len || !rsa_ifma_public(v->fast, sig, em)) {
    if (napi_get_null(env, &result) != napi_ok) return throw_unless_pending(env, "could not answer");
    return result;
  }
  if (napi_create_buffer_copy(env, sig_len, em, NULL, &result) != napi_ok) return throw_unless_pending(env, "could not answer");
  return result;
}

/* The OpenSSL the checks run on (the loading Node's), for the startup log. */
static napi_value openssl_version(napi_env env) {
  napi_value result;
  napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "create", NAPI_AUTO_LENGTH, create, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "create", fn) != napi_ok)
    return NULL;
  if (napi_create_function(env, "verify", NAPI_AUTO_LENGTH, verify, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "verify", fn) != napi_ok)
    return NULL;
  if (napi_create_function(env, "recover", NAPI_AUTO_LENGTH, recover, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "recover", fn) != napi_ok)
    return NULL;
  if (napi_set_named_property(env, exports, "openssl", openssl_version(env)) != napi_ok) return NULL;
  napi_value ifma;
  if (napi_get_boolean(env, rsa_ifma_supported(), &ifma) != napi_ok || napi_set_named_property(env, exports, "ifma", ifma) != napi_ok) return NULL;
  return exports;
}
