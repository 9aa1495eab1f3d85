// `portcullis keys`: key pairs and JWKS keysets, standing in for the lab's
// `step crypto jwk create pub-key priv-key` and `cat pub-key | step crypto jwk keyset add jwks-keyset`.
import { chmod, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import type { CliIo } from './io.js';
import { newKeyPair, type KeySpec } from './key-pairs.js';
import { isRecord } from '../../protocol/is-record.js';
import { hasPrivateMembers, parseJwk, toJwk } from './jwk.js';
import { errorText } from '../../protocol/errors.js';

export type KeyAlg = 'ES256' | 'RS256' | 'EdDSA' | 'PS256' | 'ES384';
export const KEY_ALGS: readonly KeyAlg[] = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];

export interface KeyPair {
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

export interface Keyset {
  keys: JWK[];
}

/** A signing key pair as JWKs, both carrying kid (RFC 7638 thumbprint), `use: "sig"` and `alg`. Default ES256 on P-256, as step. */
export async function createKeyPair(opts: { readonly alg: KeyAlg } = { alg: 'ES256' }): Promise<KeyPair> {
  const { alg } = opts;
  const pair = await newKeyPair(keySpecOf(alg));
  const publicJwk = await exportJWK(pair.publicKey);
  const privateJwk = await exportJWK(pair.privateKey);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return { publicJwk: signingJwk(publicJwk, kid, alg), privateJwk: signingJwk(privateJwk, kid, alg) };
}

function keySpecOf(alg: KeyAlg): KeySpec {
  switch (alg) {
    case 'RS256':
    case 'PS256':
      return { type: 'rsa', modulusLength: 2048 };
    case 'ES256':
      return { type: 'ec', namedCurve: 'P-256' };
    case 'ES384':
      return { type: 'ec', namedCurve: 'P-384' };
    case 'EdDSA':
      return { type: 'ed25519' };
  }
}

// Drops WebCrypto's `ext`/`key_ops` and puts the identifying members first, for readable files.
function signingJwk(exported: JWK, kid: string, alg: KeyAlg): JWK {
  const { ext: _ext, key_ops: _ops, kty, crv, ...material } = exported;
  if (kty === undefined) throw new Error('exported key has no "kty"');
  return crv === undefined ? { kty, kid, use: 'sig', alg, ...material } : { kty, kid, use: 'sig', alg, crv, ...material };
}

/**
 * Adds `publicJwk` to the JWKS at `keysetPath` (created as `{"keys":[]}` when missing), replacing a
 * key with the same kid. A key without kid gets its thumbprint. Refuses private keys.
 * Returns the kid written.
 */
export async function addToKeyset(keysetPath: string, publicJwk: JWK): Promise<string> {
  if (hasPrivateMembers(publicJwk)) throw new Error('refusing to add a private key to a keyset');
  const kid = publicJwk.kid ?? (await calculateJwkThumbprint(publicJwk, 'sha256'));
  const keyset = await readKeyset(keysetPath);
  keyset.keys = [...keyset.keys.filter((k) => k.kid !== kid), { ...publicJwk, kid }];
  await writeFileAtomic(keysetPath, `${JSON.stringify(keyset, null, 2)}\n`);
  return kid;
}

/** Reads a JWKS file; a missing file is an empty keyset. */
export async function readKeyset(keysetPath: string): Promise<Keyset> {
  let text: string;
  try {
    text = await readFile(keysetPath, 'utf8');
  } catch (err) {
    if (isRecord(err) && err['code'] === 'ENOENT') return { keys: [] };
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${keysetPath} is not valid JSON`);
  }
  const keys = isRecord(value) ? value['keys'] : undefined;
  if (!Array.isArray(keys)) throw new Error(`${keysetPath} is not a JWK set (no "keys" array)`);
  return {
    keys: keys.map((k, i) => {
      const jwk = toJwk(k);
      if (typeof jwk === 'string') throw new Error(`${keysetPath}: keys[${i}]: ${jwk}`);
      return jwk;
    }),
  };
}

// Writers watching the keyset (the gateway reloads it) never see a half-written file.
async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

const USAGE = `Usage:
  portcullis keys create <pub-key-file> <priv-key-file> [--alg ES256] [--keyset <jwks-file>] [--force]
      Create a signing key pair as JWK files (private file mode 0600). --alg: ${KEY_ALGS.join(', ')}.
      --keyset also adds the public key to that JWK set. --no-password/--insecure are accepted for step compatibility.
  portcullis keys add <jwks-file> [<pub-key-file>]
      Add a public JWK (from the file, or from stdin) to a JWK set, replacing a key with the same kid.
`;

export async function runKeysCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'create':
        return await keysCreate(rest, io);
      case 'add':
        return await keysAdd(rest, io);
      case '-h':
      case '--help':
      case 'help':
        io.stdout(USAGE);
        return 0;
      default:
        io.stderr(`keys: ${sub === undefined ? 'missing subcommand' : `unknown subcommand "${sub}"`}\n${USAGE}`);
        return 1;
    }
  } catch (err) {
    io.stderr(`keys ${sub ?? ''}: ${errorText(err)}\n`);
    return 1;
  }
}

async function keysCreate(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      alg: { type: 'string' },
      keyset: { type: 'string' },
      force: { type: 'boolean' },
      'no-password': { type: 'boolean' },
      insecure: { type: 'boolean' },
    },
  });
  const [pubArg, privArg, ...extra] = positionals;
  if (pubArg === undefined || privArg === undefined || extra.length > 0) {
    io.stderr(`keys create: expected <pub-key-file> <priv-key-file>\n${USAGE}`);
    return 1;
  }
  const alg = KEY_ALGS.find((a) => a === (values.alg ?? 'ES256'));
  if (alg === undefined) {
    io.stderr(`keys create: unsupported --alg ${values.alg ?? ''} (one of ${KEY_ALGS.join(', ')})\n`);
    return 1;
  }
  const pubPath = resolve(io.cwd, pubArg);
  const privPath = resolve(io.cwd, privArg);
  if (pubPath === privPath) {
    io.stderr('keys create: the public and private key files must differ\n');
    return 1;
  }
  if (values.force !== true) {
    for (const path of [pubPath, privPath]) {
      if (await exists(path)) {
        io.stderr(`keys create: ${path} already exists (use --force to overwrite)\n`);
        return 1;
      }
    }
  }

  const { publicJwk, privateJwk } = await createKeyPair({ alg });
  await writeFile(privPath, `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600 });
  await chmod(privPath, 0o600); // an overwritten file keeps its old mode otherwise
  await writeFile(pubPath, `${JSON.stringify(publicJwk, null, 2)}\n`);
  io.stdout(`Your public key has been saved in ${pubArg}.\nYour private key has been saved in ${privArg}.\n`);
  if (values.keyset !== undefined) {
    const kid = await addToKeyset(resolve(io.cwd, values.keyset), publicJwk);
    io.stdout(`Added key ${kid} to ${values.keyset}.\n`);
  }
  return 0;
}

async function keysAdd(argv: readonly string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: {} });
  const [keysetArg, pubArg, ...extra] = positionals;
  if (keysetArg === undefined || extra.length > 0) {
    io.stderr(`keys add: expected <jwks-file> [<pub-key-file>]\n${USAGE}`);
    return 1;
  }
  let text: string | null;
  let source: string;
  if (pubArg !== undefined && pubArg !== '-') {
    text = await readFile(resolve(io.cwd, pubArg), 'utf8');
    source = pubArg;
  } else {
    text = await io.readStdin();
    source = 'stdin';
  }
  if (text === null || text.trim() === '') {
    io.stderr('keys add: no public key: give <pub-key-file> or pipe the JWK on stdin\n');
    return 1;
  }
  const jwk = parseJwk(text, source);
  if (hasPrivateMembers(jwk)) {
    io.stderr(`keys add: ${source} holds a private key; add the public key instead\n`);
    return 1;
  }
  const kid = await addToKeyset(resolve(io.cwd, keysetArg), jwk);
  io.stdout(`Added key ${kid} to ${keysetArg}.\n`);
  return 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
