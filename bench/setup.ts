// What every bench run starts from: a temp dir with a fresh RS256 key, its JWKS file, one reused
// token and a file of distinct pre-signed tokens for the fresh-token walks; the commit measured;
// small formatting helpers shared by the runner's modes.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import { addToKeyset, createKeyPair, type KeyAlg } from '../src/main/cli/keys.js';
import { signToken } from '../src/main/cli/token.js';
import { AUDIENCE, ISSUER, signDistinctTokens } from './fixtures.js';
import type { CpuPlan } from './pin.js';
import { machineInfo } from './proc.js';
import type { Tokens } from './scenarios.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RESULTS = join(ROOT, 'bench', 'results');

export interface Env extends Tokens {
  readonly dir: string;
  readonly jwksFile: string;
  readonly tokensFile: string;
  /** how many distinct tokens the file holds */
  readonly tokenCount: number;
  readonly nproc: number;
  /** null: nothing pinned */
  readonly cpus: CpuPlan | null;
  stubPort: number;
  stubPid: number;
  /** the runner's token endpoint (bench/token-endpoint.ts), 0 until started */
  tokenEndpointPort: number;
  /** the runner's OTLP collector (bench/otlp-sink.ts), 0 until started */
  otlpSinkPort: number;
  /** per target: how far its walk through the token list has got. Each proxy has its own
   * verified-token cache, so each walks the whole list on its own: a token comes back to a proxy
   * only after every other one has been sent to it. */
  readonly walks: Map<string, number>;
  /** a self-signed certificate for 127.0.0.1 (HTTPS rows), and a client trusting it (check()) */
  readonly tls: { readonly cert: string; readonly key: string; readonly client: Agent };
}

/** The gateway's verified-token cache size, read from the built source, to prove fresh tokens cannot hit. */
export function tokenCacheSize(): number | null {
  try {
    const text = readFileSync(join(ROOT, 'dist', 'src', 'main', 'policy', 'jwt-auth.js'), 'utf8');
    const m = /new VerifiedTokenCache\((\d[\d_]*)[,)]/.exec(text);
    return m?.[1] === undefined ? null : Number(m[1].replace(/_/g, ''));
  } catch {
    return null;
  }
}

/** 25 % more distinct tokens than the gateway's verified-token cache holds: walked in order, no
 * token is still cached when it comes back. */
export function defaultTokenCount(): number {
  return Math.ceil((tokenCacheSize() ?? 16_000) * 1.25);
}

/** The temp dir, a key pair of `alg` (RS256 unless said), and `tokenCount` distinct tokens. */
export async function setup(o: { readonly tokenCount: number; readonly cpus: CpuPlan | null; readonly alg?: KeyAlg }): Promise<Env> {
  const { tokenCount, cpus } = o;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
  // keys, tokens and Lua scripts go with the run, however it ends
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const { privateJwk, publicJwk } = await createKeyPair({ alg: o.alg ?? 'RS256' });
  const jwksFile = join(dir, 'jwks.json');
  await addToKeyset(jwksFile, publicJwk);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const common = { privateJwk, iss: ISSUER, aud: AUDIENCE, sub: 'bench', exp };
  const token = await signToken({ ...common, claims: { roles: ['bench'] } });
  const t0 = performance.now();
  const tokens = await signDistinctTokens((claims) => signToken({ ...common, claims }), tokenCount);
  if (new Set(tokens).size !== tokens.length) throw new Error('signed tokens are not distinct');
  const tokensFile = join(dir, 'tokens.txt');
  writeFileSync(tokensFile, `${tokens.join('\n')}\n`);
  if (tokens.length > 0) log(`signed ${tokens.length} distinct ${o.alg ?? 'RS256'} tokens in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return {
    dir,
    jwksFile,
    token,
    tokensFile,
    tokenCount: tokens.length,
    firstFreshToken: tokens[0] ?? token,
    nproc: machineInfo(null).nproc,
    cpus,
    stubPort: 0,
    stubPid: 0,
    tokenEndpointPort: 0,
    otlpSinkPort: 0,
    walks: new Map(),
    tls: selfSignedCertificate(dir),
  };
}

function selfSignedCertificate(dir: string): Env['tls'] {
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key, client: new Agent({ connect: { ca: readFileSync(cert, 'utf8') } }) };
}

/** Where `target`'s token walk stands (token 0 is the one check() sends). */
export function walkStart(env: Env, target: string): number {
  return env.walks.get(target) ?? 1;
}

/** `sent` more tokens went to `target`; wrk's count leaves out requests still in flight at its
 * end, so a connection's worth more is skipped. */
export function walkOn(env: Env, target: string, sent: number, connections: number): void {
  env.walks.set(target, walkStart(env, target) + sent + connections);
}

export interface Commit {
  readonly short: string;
  readonly full: string;
  readonly dirty: boolean;
}

export function commitInfo(root = ROOT): Commit {
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const full = git('rev-parse', 'HEAD') || 'unknown';
  const dirty = git('status', '--porcelain', '--', 'src', 'bin', 'package.json') !== '';
  return { short: full.slice(0, 7), full, dirty };
}

export function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const mb = (bytes: number): number => bytes / 2 ** 20;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
