// Micro-benchmark of what a fresh RS256 token costs besides the RSA math: decoding, the header
// and key checks, the claims, over distinct tokens signed as the bench signs them (one IdP key,
// `roles` and a `jti` each). "verifyToken, no math" runs the whole verifyToken against the same
// keys with every signature check made to fail on its length, before any crypto call; "with
// math" is the real thing, for scale.
//
//   npm run build && taskset -c 0 node dist/bench/jwt-micro.js [--tokens 20000] [--rounds 9] [--math]

import { createKeyPair } from '../src/main/cli/keys.js';
import { signToken } from '../src/main/cli/token.js';
import type { PublicJwk } from '../src/protocol/worker-contract.js';
import { decodeCompactJws } from '../src/workers/jwt/decode.js';
import { prepareProviderSet, type KeyCandidate, type PreparedProviderSet } from '../src/workers/jwt/provider-set.js';
import { verifyToken } from '../src/workers/jwt/verify-token.js';
import { AUDIENCE, ISSUER, signDistinctTokens } from './fixtures.js';
import { median, numberOption } from './micro-options.js';

const count = numberOption('--tokens', 20_000);
const rounds = numberOption('--rounds', 9);
const withMath = process.argv.includes('--math');

const { privateJwk, publicJwk } = await createKeyPair({ alg: 'RS256' });
const now = Math.floor(Date.now() / 1000);
const common = { privateJwk, iss: ISSUER, aud: AUDIENCE, sub: 'bench', exp: now + 3600 };
const tokens = await signDistinctTokens((claims) => signToken({ ...common, claims }), count);

const jwk: PublicJwk = { ...publicJwk, kty: publicJwk.kty ?? 'RSA' };
const set = prepareProviderSet({ id: 0, providers: [{ issuer: ISSUER, audiences: [AUDIENCE], keys: [jwk] }], leewaySeconds: 60, requiredClaims: [] }, (p) => {
  throw new Error(p);
});

/** The same set with every check asking for a signature length no token has. */
function withoutMath(s: PreparedProviderSet): PreparedProviderSet {
  const byKid = new Map<string, KeyCandidate[]>();
  for (const [kid, list] of s.byKid) {
    byKid.set(
      kid,
      list.map((c) => ({ provider: c.provider, key: { ...c.key, verifiers: new Map([...c.key.verifiers].map(([alg, v]) => [alg, { ...v, length: 1 }])) } })),
    );
  }
  return { ...s, byKid };
}
const noMath = withoutMath(set);

for (const t of tokens.slice(0, 3)) {
  const r = verifyToken(set, t, now);
  if (!r.ok) throw new Error(`a bench token does not verify: ${r.detail}`);
}

let sink = 0;
function time(run: (token: string) => void, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run(tokens[i] ?? '');
  return Number(process.hrtime.bigint() - t0) / n / 1000;
}

const cases: Array<[string, (token: string) => void, number]> = [
  ['decodeCompactJws', (t) => (sink += decodeCompactJws(t).ok ? 1 : 0), count],
  ['verifyToken, no math', (t) => (sink += verifyToken(noMath, t, now).ok ? 0 : 1), count],
];
if (withMath) cases.push(['verifyToken, with math', (t) => (sink += verifyToken(set, t, now).ok ? 1 : 0), Math.min(count, 4000)]);

const results: number[][] = cases.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (const [i, [, run, n]] of cases.entries()) results[i]?.push(time(run, n));
}
process.stdout.write(`${count} distinct RS256 tokens (${tokens[0]?.length ?? 0} chars), median of ${rounds} rounds, µs per token:\n`);
for (const [i, [name]] of cases.entries()) {
  const xs = results[i] ?? [];
  process.stdout.write(`  ${name.padEnd(24)} ${median(xs).toFixed(3)}  [${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}]\n`);
}
if (sink === 0) process.stdout.write('(nothing counted)\n');
