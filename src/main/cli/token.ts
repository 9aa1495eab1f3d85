// `portcullis token sign`: the lab's `step crypto jwt sign --key priv-key --iss .. --aud .. --sub .. --exp ..`,
// with extra claims piped on stdin as a JSON object.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { CliIo } from './io.js';
import { isRecord } from '../../protocol/is-record.js';
import { hasPrivateMembers, parseJwk, signingAlg } from './jwk.js';
import { errorText } from '../../protocol/errors.js';

export interface SignTokenOptions {
  /** An asymmetric private JWK; its `alg` (else the default for its type) and `kid` go in the header. */
  readonly privateJwk: JWK;
  readonly iss?: string;
  readonly aud?: string | readonly string[];
  readonly sub?: string;
  /** Unix seconds */
  readonly exp?: number;
  readonly nbf?: number;
  /** Unix seconds; default now */
  readonly iat?: number;
  /** Extra claims; the named options above win over members of the same name. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** Default lifetime when `token sign` gets no --exp (the gateway requires exp). */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 300;

export async function signToken(opts: SignTokenOptions): Promise<string> {
  const jwk = opts.privateJwk;
  if (jwk.d === undefined) throw new Error('the signing key is not an asymmetric private key (no "d")');
  const alg = signingAlg(jwk);
  const key = await importJWK(jwk, alg);
  const payload: JWTPayload = { ...opts.claims };
  if (opts.iss !== undefined) payload.iss = opts.iss;
  if (opts.sub !== undefined) payload.sub = opts.sub;
  if (opts.aud !== undefined) payload.aud = typeof opts.aud === 'string' ? opts.aud : [...opts.aud];
  payload.iat = opts.iat ?? Math.floor(Date.now() / 1000);
  if (opts.nbf !== undefined) payload.nbf = opts.nbf;
  if (opts.exp !== undefined) payload.exp = opts.exp;
  const header = jwk.kid === undefined ? { alg, typ: 'JWT' } : { alg, kid: jwk.kid, typ: 'JWT' };
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

const USAGE = `Usage:
  portcullis token sign --key <priv-key-file> [--iss <issuer>] [--aud <audience>]... [--sub <subject>]
                        [--exp <unix-seconds>] [--nbf <unix-seconds>] [--iat <unix-seconds>] [<claims-file> | -]
      Print a signed JWT. Extra claims are a JSON object piped on stdin (or read from <claims-file>):
        echo '{ "roles": ["admin"] }' | portcullis token sign --key priv-key --iss acme@example.com \\
          --aud=mcp.example.com --sub jsmith --exp $(date -d "10 years" +%s)
      --exp defaults to ${DEFAULT_TOKEN_LIFETIME_SECONDS} seconds from now; --aud may be repeated.
`;

export async function runTokenCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '-h' || sub === '--help' || sub === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if (sub !== 'sign') {
    io.stderr(`token: ${sub === undefined ? 'missing subcommand' : `unknown subcommand "${sub}"`}\n${USAGE}`);
    return 1;
  }
  try {
    io.stdout(`${await tokenSign(rest, io)}\n`);
    return 0;
  } catch (err) {
    io.stderr(`token sign: ${errorText(err)}\n`);
    return 1;
  }
}

async function tokenSign(argv: readonly string[], io: CliIo): Promise<string> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      iss: { type: 'string' },
      aud: { type: 'string', multiple: true },
      sub: { type: 'string' },
      exp: { type: 'string' },
      nbf: { type: 'string' },
      iat: { type: 'string' },
    },
  });
  if (values.key === undefined) throw new Error('--key is required');
  if (positionals.length > 1) throw new Error(`unexpected arguments: ${positionals.slice(1).join(' ')}`);

  const jwk = parseJwk(await readFile(resolve(io.cwd, values.key), 'utf8'), values.key);
  if (!hasPrivateMembers(jwk)) throw new Error(`${values.key} is a public key; sign with the private key`);

  const claimsSource = positionals[0] ?? '-';
  const claimsText = claimsSource === '-' ? await io.readStdin() : await readFile(resolve(io.cwd, claimsSource), 'utf8');
  const claims = parseClaims(claimsText, claimsSource === '-' ? 'stdin' : claimsSource);

  const now = Math.floor(Date.now() / 1000);
  const iat = unixSeconds(values.iat, '--iat') ?? now;
  const opts: { -readonly [K in keyof SignTokenOptions]: SignTokenOptions[K] } = {
    privateJwk: jwk,
    claims,
    iat,
    exp: unixSeconds(values.exp, '--exp') ?? iat + DEFAULT_TOKEN_LIFETIME_SECONDS,
  };
  const nbf = unixSeconds(values.nbf, '--nbf');
  if (nbf !== undefined) opts.nbf = nbf;
  if (values.iss !== undefined) opts.iss = values.iss;
  if (values.sub !== undefined) opts.sub = values.sub;
  const aud = values.aud ?? [];
  if (aud.length === 1 && aud[0] !== undefined) opts.aud = aud[0];
  else if (aud.length > 1) opts.aud = aud;
  return signToken(opts);
}

function parseClaims(text: string | null, source: string): Record<string, unknown> {
  if (text === null || text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${source} is not a JSON object`);
  }
  if (!isRecord(value)) throw new Error(`${source} is not a JSON object`);
  return value;
}

function unixSeconds(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(text.trim())) throw new Error(`${flag} must be a Unix time in seconds, got "${text}"`);
  return Number(text.trim());
}
