// Loads and checks a JWKS at config load (agentgateway fails the whole load on a bad JWKS, so a
// typo never turns into "every token rejected" at run time). Keys come out as plain public JWKs
// that the workers import with jose.

import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PublicJwk } from '../../protocol/worker-contract.js';
import { type IssueList, indexPath, isPlainObject } from './schema-reader.js';
import { errorText } from '../../protocol/errors.js';

const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
const SUPPORTED_ALGS: readonly string[] = [...RSA_ALGS, 'ES256', 'ES384', 'EdDSA'];

// Keyed by what the key set says (`kty`, `crv`): Maps, so a `constructor` is an unknown type.

/** Curves and the one algorithm each allows; RSA is handled apart (any RS or PS algorithm). */
const CURVES: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map([
  ['EC', new Map([['P-256', 'ES256'], ['P-384', 'ES384']])],
  ['OKP', new Map([['Ed25519', 'EdDSA']])],
]);

/** Members that only a private or symmetric key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** The public members kept per key type; everything else in the JWK is dropped. */
const PUBLIC_MEMBERS: ReadonlyMap<string, readonly string[]> = new Map([
  ['RSA', ['n', 'e']],
  ['EC', ['crv', 'x', 'y']],
  ['OKP', ['crv', 'x']],
]);

/** jose refuses RSA signatures with a modulus under 2048 bits, so such a key could never verify. */
const MIN_RSA_BITS = 2048;

/**
 * Reads a JWKS file. Read and JSON errors are reported at `filePath` (the config path of
 * `jwks.file`), problems with single keys at `<keysPath>[i]`.
 */
export function loadJwksFile(issues: IssueList, filePath: string, absPath: string, keysPath: string): PublicJwk[] {
  let text: string;
  try {
    text = readFileSync(absPath, 'utf8');
  } catch (err: unknown) {
    issues.add(filePath, `failed to load JWKS: ${errorText(err)}`);
    return [];
  }
  return parseJwks(issues, text, filePath, keysPath);
}

/** Parses a JWKS document (`{"keys": [...]}`) given as JSON text. */
export function parseJwks(issues: IssueList, text: string, docPath: string, keysPath: string): PublicJwk[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err: unknown) {
    issues.add(docPath, `failed to load JWKS: ${jsonErrorReason(err)}`);
    return [];
  }
  const keys = isPlainObject(doc) ? doc['keys'] : undefined;
  if (!Array.isArray(keys)) {
    issues.add(docPath, 'failed to load JWKS: expected a JSON object with a "keys" list');
    return [];
  }
  const list: readonly unknown[] = keys;
  const out: PublicJwk[] = [];
  const seen = new Map<string, number>();
  list.forEach((raw, i) => {
    const path = indexPath(keysPath, i);
    const jwk = checkKey(issues, path, raw, i);
    if (jwk === undefined || jwk.kid === undefined) return;
    const first = seen.get(jwk.kid);
    if (first !== undefined) {
      issues.add(path, `duplicate kid ${JSON.stringify(jwk.kid)} (also ${indexPath(keysPath, first)})`);
      return;
    }
    seen.set(jwk.kid, i);
    out.push(jwk);
  });
  return out;
}

/** Checks one JWK; undefined when it is unusable (issues recorded) or not a signing key. */
function checkKey(issues: IssueList, path: string, raw: unknown, index: number): PublicJwk | undefined {
  if (!isPlainObject(raw)) {
    issues.add(path, 'expected a JWK (a JSON object)');
    return undefined;
  }
  // `use: enc` keys (IdPs publish encryption keys next to signing keys) never verify a
  // signature; skipping them keeps such a JWKS usable. `key_ops` (RFC 7517 §4.3) without
  // "verify" says the same.
  if (raw['use'] !== undefined && raw['use'] !== 'sig') return undefined;
  const ops = raw['key_ops'];
  if (Array.isArray(ops) && !ops.includes('verify')) return undefined;

  const before = issues.count;
  const kid = raw['kid'];
  if (typeof kid !== 'string' || kid === '') issues.add(path, 'the key is missing the `kid` attribute');
  const label = JSON.stringify(typeof kid === 'string' && kid !== '' ? kid : `keys[${index}]`);

  const kty = raw['kty'];
  if (kty === 'oct') {
    issues.add(path, `symmetric (oct) key ${label} refused: HMAC against a JWKS is never allowed`);
    return undefined;
  }
  if (typeof kty !== 'string' || !PUBLIC_MEMBERS.has(kty)) {
    const got = typeof kty === 'string' ? `unsupported key type ${JSON.stringify(kty)}` : 'no `kty`';
    issues.add(path, `the key ${label} has ${got} (supported: RSA, EC P-256/P-384, OKP Ed25519)`);
    return undefined;
  }
  if (ops !== undefined && !isStringList(ops)) issues.add(path, `the key ${label} has \`key_ops\` that is not a list of strings`);
  if (PRIVATE_MEMBERS.some((m) => raw[m] !== undefined)) {
    issues.add(path, `JWKS must hold public keys only: key ${label} has private members`);
  }

  const curves = CURVES.get(kty);
  const crv = raw['crv'];
  let curveAlg: string | undefined;
  if (curves !== undefined) {
    curveAlg = typeof crv === 'string' ? curves.get(crv) : undefined;
    if (curveAlg === undefined) {
      const supported = [...curves.keys()].join(', ');
      issues.add(path, `the key ${label} uses unsupported curve ${JSON.stringify(crv ?? null)} for ${kty} (supported: ${supported})`);
    }
  }

  const alg = raw['alg'];
  if (alg !== undefined) {
    if (typeof alg !== 'string' || !SUPPORTED_ALGS.includes(alg)) {
      issues.add(path, `the key ${label} has unsupported algorithm ${JSON.stringify(alg)} (supported: ${SUPPORTED_ALGS.join(', ')})`);
    } else {
      const fits = kty === 'RSA' ? RSA_ALGS.some((a) => a === alg) : curveAlg === undefined || curveAlg === alg;
      if (!fits) issues.add(path, `the key ${label} has algorithm ${alg}, which does not fit its key type ${kty}${typeof crv === 'string' ? ` ${crv}` : ''}`);
    }
  }

  const jwk = publicJwk(raw, kty);
  if (issues.count === before) {
    const reason = importError(jwk);
    if (reason !== null) issues.add(path, `could not construct a decoding key for ${label}: ${reason}`);
  }
  return issues.count === before ? jwk : undefined;
}

function publicJwk(raw: Readonly<Record<string, unknown>>, kty: string): PublicJwk {
  const jwk: Record<string, string> = { kty };
  for (const m of ['kid', 'alg', 'use', ...(PUBLIC_MEMBERS.get(kty) ?? [])]) {
    const v = raw[m];
    if (typeof v === 'string') jwk[m] = v;
  }
  // Carried on so the workers check it as well (they refuse a key that may not "verify").
  const ops = raw['key_ops'];
  return isStringList(ops) ? { ...jwk, kty, key_ops: [...ops] } : { ...jwk, kty };
}

function isStringList(v: unknown): v is readonly string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** null when node:crypto accepts the key as a public key the workers can use. */
function importError(jwk: PublicJwk): string | null {
  try {
    const key = createPublicKey({ key: { ...jwk }, format: 'jwk' });
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (jwk.kty === 'RSA' && bits !== undefined && bits < MIN_RSA_BITS) {
      return `the RSA modulus has ${bits} bits; at least ${MIN_RSA_BITS} are required`;
    }
    return null;
  } catch (err: unknown) {
    return errorText(err);
  }
}

/**
 * V8's JSON.parse messages quote the start of the input; a JWKS path pointed at the wrong file
 * (a PEM private key, say) must not end up in logs, so only the position is kept.
 */
function jsonErrorReason(err: unknown): string {
  const position = /at position (\d+)/.exec(err instanceof Error ? err.message : '');
  return position === null ? 'not valid JSON' : `not valid JSON (at position ${position[1]})`;
}
