// The native RSA verifier (native/rsa-verify): RS* and PS* signature checks with OpenSSL's
// context set up once per key, which no node:crypto API keeps (rsa_verify.c says what that saves
// and why it is written by hand). It is optional: `npm ci` builds it where a C compiler and
// Node's headers are at hand (scripts/build-native.mjs). Without it, or with
// PORTCULLIS_NATIVE_RSA=off, keys.ts checks RSA signatures with node:crypto like every other
// algorithm, with the same answers (test/unit/workers/native-rsa.test.ts compares the two).
import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { errorText } from '../../protocol/errors.js';

/** A verifier bound to one key, digest and padding; usable on the thread that made it only. */
export interface NativeRsaVerifier {
  readonly nativeRsaVerifier: never;
}

export type RsaDigest = 'sha256' | 'sha384' | 'sha512';

export interface NativeRsaModule {
  /** the OpenSSL the checks run on (the running Node's own) */
  readonly openssl: string;
  /** whether this CPU runs AVX-512 IFMA, which RS256/384/512 checks then use (rsa_ifma.c) */
  readonly ifma: boolean;
  /** `vector` false keeps an RS* verifier on OpenSSL's arithmetic even where IFMA is at hand */
  create(spki: Uint8Array, digest: RsaDigest, pss: boolean, vector: boolean): NativeRsaVerifier;
  /** true only for a valid signature; throws on arguments of the wrong type */
  verify(verifier: NativeRsaVerifier, data: Uint8Array, signature: Uint8Array): boolean;
  /** the IFMA path's public operation alone (s^e mod n), for tests; null off that path, or for a
   * signature of the wrong length or not below the modulus */
  recover(verifier: NativeRsaVerifier, signature: Uint8Array): Uint8Array | null;
}

export type NativeRsaState =
  | { readonly loaded: true; readonly module: NativeRsaModule }
  | { readonly loaded: false; readonly reason: string };

/** From dist/src/workers/jwt/ up to the package root. */
const ADDON = new URL('../../../../native/rsa-verify/build/Release/rsa_verify.node', import.meta.url);

function isNativeRsaModule(m: unknown): m is NativeRsaModule {
  if (typeof m !== 'object' || m === null) return false;
  return (
    'create' in m &&
    typeof m.create === 'function' &&
    'verify' in m &&
    typeof m.verify === 'function' &&
    'recover' in m &&
    typeof m.recover === 'function' &&
    'openssl' in m &&
    typeof m.openssl === 'string' &&
    'ifma' in m &&
    typeof m.ifma === 'boolean'
  );
}

/**
 * Loads the addon at `path` with all its symbols bound at once. Its OpenSSL symbols come from the
 * loading Node; `require` binds them lazily, so one this Node lacked would end the process at the
 * first check that needs it, past any fallback. Bound now, a missing one is refused here and
 * node:crypto checks the signatures.
 */
export function loadNativeRsa(path: string): NativeRsaState {
  if (!existsSync(path)) return { loaded: false, reason: 'not built (npm run build:native builds it; it needs a C compiler)' };
  const m: { exports: unknown } = { exports: {} };
  try {
    process.dlopen(m, path, constants.dlopen.RTLD_NOW);
  } catch (err) {
    return { loaded: false, reason: `did not load: ${errorText(err)}` };
  }
  return isNativeRsaModule(m.exports) ? { loaded: true, module: m.exports } : { loaded: false, reason: 'the built module does not export create, verify, recover, openssl and ifma' };
}

function load(): NativeRsaState {
  if (process.env['PORTCULLIS_NATIVE_RSA'] === 'off') return { loaded: false, reason: 'PORTCULLIS_NATIVE_RSA=off' };
  return loadNativeRsa(fileURLToPath(ADDON));
}

let state: NativeRsaState | undefined;

/** Loaded on first use, once per thread; PORTCULLIS_NATIVE_RSA is read then. */
export function nativeRsa(): NativeRsaState {
  return (state ??= load());
}

/**
 * The native check of `key` (RSA, already vetted by importJwk) for one digest and padding, as a
 * function of the signing input and the signature; null where the verifier did not load or
 * refuses the key (then node:crypto checks it, as it would anyway). `vector` false: tests only.
 */
export function nativeRsaCheck(key: KeyObject, digest: RsaDigest, pss: boolean, vector = true): ((data: Uint8Array, signature: Uint8Array) => boolean) | null {
  const s = nativeRsa();
  if (!s.loaded) return null;
  let verifier: NativeRsaVerifier;
  try {
    verifier = s.module.create(key.export({ type: 'spki', format: 'der' }), digest, pss, vector);
  } catch {
    return null;
  }
  const { verify } = s.module;
  // `=== true`: anything but a boolean true (an addon bug) is an invalid signature.
  return (data, signature) => verify(verifier, data, signature) === true;
}
