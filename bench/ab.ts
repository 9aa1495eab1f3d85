// A/B comparison of two builds of the gateway under the same load, for deciding a data-path
// change by measurement. Runs of one row differ by up to 1.6× on this VM (bench/README.md), far
// more than most changes are worth, so a before/after pair of `npm run bench` runs cannot tell
// 5 % apart. Here both gateways run side by side against one stub, and the load alternates
// A B B A A B … so drift hits both equally; the answer is the median of the per-pair ratios.
//
//   node dist/bench/ab.js --a <checkout> --b <checkout> [--scenario call|fresh|list20|list20sse|callsse|list200]
//                         [--rules 0|1|20] [--workers 0|1] [--rounds 10] [--seconds 2] [--alg RS256|ES256|EdDSA]
//                         [--a-node '<node flags>'] [--b-node '<node flags>']
//
// A checkout is a directory holding a built gateway (bin/portcullis.js + dist/). The stub, the
// key and the token come from this build.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addToKeyset, createKeyPair, type KeyAlg } from '../src/main/cli/keys.js';
import { signToken } from '../src/main/cli/token.js';
import { AUDIENCE, BODIES, ISSUER, PROTOCOL_VERSION, gatewayConfig, signDistinctTokens } from './fixtures.js';
import { processCpuSeconds } from './proc.js';
import { accepts, installCleanup, startProcess, stopProcess, waitForLine, waitUntil, type Started } from './processes.js';
import { runWrk } from './wrk.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STUB = join(ROOT, 'dist', 'bench', 'stub-upstream.js');

const SCENARIOS = ['call', 'fresh', 'callsse', 'list20', 'list20sse', 'list200'] as const;
type Scenario = (typeof SCENARIOS)[number];
const isScenario = (v: string): v is Scenario => SCENARIOS.some((s) => s === v);

/** fresh: distinct tokens walked in order by each gateway; more than its verified-token cache
 * holds (at most 10,000), so none is still cached when it comes round again */
const FRESH_TOKENS = 12_500;

interface Options {
  a: string;
  b: string;
  scenario: Scenario;
  rules: number;
  workers: number;
  rounds: number;
  seconds: number;
  /** the tokens' signing algorithm */
  alg: KeyAlg;
  /** flags for node in front of each gateway (e.g. V8 heap sizes), split on spaces */
  aNode: string[];
  bNode: string[];
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { a: '', b: '', scenario: 'call', rules: 0, workers: 0, rounds: 10, seconds: 2, alg: 'RS256', aNode: [], bNode: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i] ?? '';
    if (flag === '--a') o.a = value;
    else if (flag === '--b') o.b = value;
    else if (flag === '--scenario' && isScenario(value)) o.scenario = value;
    else if (flag === '--rules') o.rules = Number(value);
    else if (flag === '--workers') o.workers = Number(value);
    else if (flag === '--rounds') o.rounds = Number(value);
    else if (flag === '--seconds') o.seconds = Number(value);
    else if (flag === '--a-node') o.aNode = value.split(' ').filter((f) => f !== '');
    else if (flag === '--b-node') o.bNode = value.split(' ').filter((f) => f !== '');
    else if (flag === '--alg' && (value === 'RS256' || value === 'ES256' || value === 'EdDSA')) o.alg = value;
    else throw new Error(`unknown or bad argument ${flag ?? ''} ${value}`);
  }
  if (o.a === '' || o.b === '') throw new Error('--a <checkout> and --b <checkout> are required');
  return o;
}

async function startGateway(checkout: string, nodeFlags: readonly string[], port: number, config: string, workers: number): Promise<Started> {
  const env = { ...process.env, ADMIN_ADDR: '', STATS_ADDR: '', READINESS_ADDR: '' };
  // stdout (the access log) is not read: draining it would cost this process CPU during the runs
  const p = startProcess(process.execPath, [...nodeFlags, join(checkout, 'bin', 'portcullis.js'), '-c', config, '--workers', String(workers)], { env });
  await waitUntil(p, () => accepts(port), 20_000, `gateway ${checkout}`);
  return p;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  installCleanup(() => {});
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-ab-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const { privateJwk, publicJwk } = await createKeyPair({ alg: o.alg });
  const jwksFile = join(dir, 'jwks.json');
  await addToKeyset(jwksFile, publicJwk);
  const common = { privateJwk, iss: ISSUER, aud: AUDIENCE, sub: 'bench', exp: Math.floor(Date.now() / 1000) + 3600 };
  const token = await signToken({ ...common, claims: { roles: ['bench'] } });
  const tokensFile = join(dir, 'tokens.txt');
  if (o.scenario === 'fresh') {
    const tokens = await signDistinctTokens((claims) => signToken({ ...common, claims }), FRESH_TOKENS);
    writeFileSync(tokensFile, `${tokens.join('\n')}\n`);
  }
  /** per gateway: where its walk through the token list has got to */
  const tokensUsed = { a: 0, b: 0 };

  const stubPort = 19_400 + (process.pid % 200);
  const stub = startProcess(process.execPath, [STUB, '--port', String(stubPort), '--host', '127.0.0.1'], { captureStdout: true });
  await waitForLine(stub, 'stub listening on', 10_000);
  const ports = { a: stubPort + 1000, b: stubPort + 1001 };
  const gateways = {
    a: await startGateway(o.a, o.aNode, ports.a, gatewayConfig({ port: ports.a, stubPort, jwksFile, rules: o.rules }), o.workers),
    b: await startGateway(o.b, o.bNode, ports.b, gatewayConfig({ port: ports.b, stubPort, jwksFile, rules: o.rules }), o.workers),
  };
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': PROTOCOL_VERSION,
    Authorization: `Bearer ${token}`,
  };
  if (o.scenario.endsWith('sse')) headers['x-bench-sse'] = '1';
  if (o.scenario === 'list200') headers['x-bench-tools'] = '200';
  const body = o.scenario.startsWith('call') ? BODIES.call : BODIES.list;

  const run = async (which: 'a' | 'b', seconds: number): Promise<{ rps: number; cpuUs: number }> => {
    const pid = gateways[which].pid;
    const c0 = processCpuSeconds(pid) ?? 0;
    const fresh = o.scenario === 'fresh' ? { tokensFile, tokensStart: tokensUsed[which] } : {};
    // one wrk thread for fresh tokens, as in run.ts: the Lua token walk costs wrk CPU
    const load = await runWrk({ url: `http://127.0.0.1:${ports[which]}/mcp`, body, headers, connections: 64, threads: o.scenario === 'fresh' ? 1 : 2, seconds, ...fresh }, dir, `ab-${which}`);
    tokensUsed[which] += load.requests + 64;
    const cpu = (processCpuSeconds(pid) ?? 0) - c0;
    if (load.non2xx > 0 || load.socketErrors > 0) throw new Error(`${which}: ${load.non2xx} non-2xx, ${load.socketErrors} socket errors`);
    return { rps: load.rps, cpuUs: (cpu * 1e6) / Math.max(1, load.requests) };
  };
  // JIT tiers, undici's connections, the token cache: a gateway keeps speeding up for seconds
  await run('a', 3);
  await run('b', 3);
  const results = { a: [] as Array<{ rps: number; cpuUs: number }>, b: [] as Array<{ rps: number; cpuUs: number }> };
  for (let r = 0; r < o.rounds; r++) {
    // A B, B A, A B, …: each gateway goes first in half the rounds
    const order: Array<'a' | 'b'> = r % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
    for (const which of order) results[which].push(await run(which, o.seconds));
    const a = results.a[r];
    const b = results.b[r];
    if (a !== undefined && b !== undefined) {
      process.stderr.write(`round ${r + 1}: A ${a.rps.toFixed(0)} req/s ${a.cpuUs.toFixed(1)} µs | B ${b.rps.toFixed(0)} req/s ${b.cpuUs.toFixed(1)} µs\n`);
    }
  }
  const rpsRatios = results.a.map((a, i) => (results.b[i]?.rps ?? 0) / a.rps);
  const cpuRatios = results.a.map((a, i) => (results.b[i]?.cpuUs ?? 0) / a.cpuUs);
  const line = (name: string, xs: ReadonlyArray<{ rps: number; cpuUs: number }>): string =>
    `${name}: median ${median(xs.map((x) => x.rps)).toFixed(0)} req/s, ${median(xs.map((x) => x.cpuUs)).toFixed(1)} µs/req`;
  process.stdout.write(
    `${o.scenario}, ${o.alg}, ${o.rules} rule(s), --workers ${o.workers}, ${o.rounds} rounds of ${o.seconds} s\n` +
      `${line(`A ${o.a} ${o.aNode.join(' ')}`, results.a)}\n${line(`B ${o.b} ${o.bNode.join(' ')}`, results.b)}\n` +
      `B/A per round, median: req/s ${median(rpsRatios).toFixed(3)}, CPU µs/req ${median(cpuRatios).toFixed(3)} ` +
      `(CPU ratios ${cpuRatios.map((x) => x.toFixed(2)).join(' ')})\n`,
  );
  await Promise.all([stopProcess(gateways.a), stopProcess(gateways.b), stopProcess(stub)]);
}

await main();
