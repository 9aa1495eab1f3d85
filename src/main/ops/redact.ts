// What /config_dump shows of the config: everything an operator needs to see what runs, nothing
// that works as a credential. The config holds secrets in a few shapes: the session key, the
// environment given to stdio servers (API keys, mostly), and URLs with a user, a password or a
// query (a token in a JWKS or upstream URL), and a stdio server's arguments; inline JWKS hold
// public keys, but a private member pasted by mistake must not be served either. backendAuth
// credentials (keys, client secrets, signing keys) are all `{secret, file}` values: the file
// name is shown, the secret never. CEL rules and route match values are shown: they are what an
// operator reads the dump for.

import { redacted, redactUrl } from '../log/redact.js';

/** JWK members of private and symmetric keys (RFC 7517/7518). */
const privateJwkMembers: ReadonlySet<string> = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']);

function redactValue(value: unknown, key: string | null): unknown {
  if (value instanceof URL) return redactUrl(value.href);
  if (typeof value === 'string') return key !== null && privateJwkMembers.has(key) ? redacted : redactUrl(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, null));
  if (value instanceof Map) return redactValue(Object.fromEntries(value), key);
  if (typeof value !== 'object' || value === null) return value;
  // Keys may be the config's own (resourceMetadata members): set on a Map, since assigned to an
  // object `__proto__` would set its prototype instead of a member.
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(value)) {
    if (k === 'env' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      // The names tell what is set; the values are the secrets.
      out.set(k, Object.fromEntries(Object.keys(v).map((name) => [name, redacted])));
    } else if (k === 'args' && Array.isArray(v)) {
      // A stdio server's arguments carry keys as often as its environment does (`--api-key=…`).
      out.set(k, v.map(() => redacted));
    } else if (k === 'sessionKey') out.set(k, v === null ? null : redacted);
    else if (k === 'secret' && typeof v === 'string') out.set(k, redacted);
    else out.set(k, redactValue(v, k));
  }
  return Object.fromEntries(out);
}

/** A deep copy of the config as /config_dump serves it. */
export function redactedConfig(config: unknown): unknown {
  return redactValue(config, null);
}
