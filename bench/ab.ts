// A/B of two builds of the gateway, by the bench's pinned method (bench/README.md, "Method"):
// both gateways run side by side on the proxy CPU (only one under load at a time), wrk (one
// thread) and the stub on the load CPU, and each round measures the direct stub, A and B in turn,
// the order reversed every other round; rounds with more than 0.2 cores of other load are
// dropped and replaced. The answer is the median of the per-round ratios B/A, with their min–max.
//
//   node dist/bench/ab.js --a <checkout> --b <checkout> [--scenario call|fresh|callsse|list20|list20sse|list200]
//                         [--rules 1] [--workers 0] [--rounds 6] [--seconds 5] [--warmup 2] [--alg RS256|ES256|EdDSA]
//                         [--a-node '<node flags>'] [--b-node '<node flags>'] [--pin 0,1 | --no-pin]
//                         [--max-other 0.2] [--out <file.md>]
//
// A checkout is a directory holding a built gateway (bin/portcullis.js + dist/). The stub, the
// key and the tokens come from this build. `--out` writes the result as markdown (commits,
// settings, every round) for bench/results.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { KeyAlg } from '../src/main/cli/keys.js';
import { parseCpuPlan, type CpuPlan } from './pin.js';
import { installCleanup, stopProcess } from './processes.js';
import { figureStat, range, ratioRange, ratioStat, roundsTable, runGroup, usedRounds, type GroupResult } from './rounds.js';
import { CONNECTIONS, DIRECT, S, type Scenario } from './scenarios.js';
import { defaultTokenCount, log, setup } from './setup.js';
import { startGateways, startStub, stopGateways, type RunningGateway } from './targets.js';

const SCENARIOS: Readonly<Record<string, Scenario>> = {
  call: S.call,
  fresh: S.fresh,
  callsse: S.callSse,
  list20: S.list20,
  list20sse: S.list20Sse,
  list200: S.list200,
};

interface Options {
  a: string;
  b: string;
  scenario: string;
  rules: number;
  workers: number;
  rounds: number;
  seconds: number;
  warmup: number;
  /** the tokens' signing algorithm */
  alg: KeyAlg;
  /** flags for node in front of each gateway (e.g. V8 heap sizes), split on spaces */
  aNode: string[];
  bNode: string[];
  pin: string | null;
  maxOtherCores: number;
  out: string | null;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { a: '', b: '', scenario: 'call', rules: 1, workers: 0, rounds: 6, seconds: 5, warmup: 2, alg: 'RS256', aNode: [], bNode: [], pin: '0,1', maxOtherCores: 0.2, out: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--no-pin') {
      o.pin = null;
      continue;
    }
    const value = argv[++i] ?? '';
    if (flag === '--a') o.a = resolve(value);
    else if (flag === '--b') o.b = resolve(value);
    else if (flag === '--scenario' && SCENARIOS[value] !== undefined) o.scenario = value;
    else if (flag === '--rules') o.rules = Number(value);
    else if (flag === '--workers') o.workers = Number(value);
    else if (flag === '--rounds') o.rounds = Number(value);
    else if (flag === '--seconds') o.seconds = Number(value);
    else if (flag === '--warmup') o.warmup = Number(value);
    else if (flag === '--a-node') o.aNode = value.split(' ').filter((f) => f !== '');
    else if (flag === '--b-node') o.bNode = value.split(' ').filter((f) => f !== '');
    else if (flag === '--alg' && (value === 'RS256' || value === 'ES256' || value === 'EdDSA')) o.alg = value;
    else if (flag === '--pin') o.pin = value;
    else if (flag === '--max-other') o.maxOtherCores = Number(value);
    else if (flag === '--out') o.out = resolve(value);
    else throw new Error(`unknown or bad argument ${flag ?? ''} ${value}`);
  }
  if (o.a === '' || o.b === '') throw new Error('--a <checkout> and --b <checkout> are required');
  if (!(Number.isInteger(o.rounds) && o.rounds >= 1 && o.rounds <= 60)) throw new Error('--rounds must be 1..60');
  if (!(o.seconds >= 1 && o.seconds <= 30)) throw new Error('--seconds must be 1..30');
  return o;
}

/** The checkout's commit, with "+ changes" when its src/bin differ from it. */
function describe(checkout: string): string {
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', ['-C', checkout, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const head = git('log', '-1', '--format=%h %s');
  if (head === '') return checkout;
  return `${head.slice(0, 80)}${git('status', '--porcelain', '--', 'src', 'bin') === '' ? '' : ' + uncommitted changes'}`;
}

function summary(o: Options, g: GroupResult): string[] {
  const line = (name: string): string =>
    `${name}: ${range(figureStat(g, name, (x) => x.rps))} req/s, ${range(figureStat(g, name, (x) => x.cpuUs), 1)} µs/req, p99 ${range(figureStat(g, name, (x) => x.p99Ms), 2)} ms`;
  const dropped = g.rounds.length - usedRounds(g).length;
  return [
    `${o.scenario}, ${o.alg}, ${o.rules} rule(s), --workers ${o.workers}; ${usedRounds(g).length} round(s) of ${o.seconds} s used${dropped > 0 ? `, ${dropped} dropped for other load` : ''}${g.rounds.some((r) => r.kept) ? '' : ' — NO QUIET ROUND: do not decide on this'}; ${o.pin === null ? 'not pinned' : `gateways on CPU ${o.pin.split(',')[0] ?? '?'}, wrk and stub on CPU ${o.pin.split(',')[1] ?? '?'}`}`,
    `A ${describe(o.a)} ${o.aNode.join(' ')}`,
    `B ${describe(o.b)} ${o.bNode.join(' ')}`,
    line(DIRECT),
    line('A'),
    line('B'),
    `B/A per round, median [min–max]: req/s ${ratioRange(ratioStat(g, 'B', 'A', (x) => x.rps))}, CPU µs/req ${ratioRange(ratioStat(g, 'B', 'A', (x) => x.cpuUs))}, p99 ${ratioRange(ratioStat(g, 'B', 'A', (x) => x.p99Ms))}`,
  ];
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  installCleanup(() => {});
  const cpus: CpuPlan | null = o.pin === null ? null : parseCpuPlan(o.pin);
  const s = SCENARIOS[o.scenario] ?? S.call;
  const env = await setup({ tokenCount: s.auth === 'fresh' ? defaultTokenCount() : 0, cpus, alg: o.alg });
  const stub = await startStub(cpus?.load ?? null);
  env.stubPort = stub.port;
  env.stubPid = stub.p.pid;
  const gateways: RunningGateway[] = [];
  let g: GroupResult;
  try {
    for (const [name, checkout, node] of [['A', o.a, o.aNode], ['B', o.b, o.bNode]] as const) {
      gateways.push(await startGateways(env, { label: name, workers: o.workers, rules: o.rules, processes: 1 }, cpus?.proxy ?? null, node, join(checkout, 'bin', 'portcullis.js')));
    }
    const targets = [
      { name: DIRECT, url: `http://127.0.0.1:${stub.port}/mcp`, pids: [stub.p.pid], rules: null },
      ...gateways.map((gw, i) => ({ name: i === 0 ? 'A' : 'B', url: `http://127.0.0.1:${gw.port}/mcp`, pids: gw.pids, rules: o.rules })),
    ];
    g = await runGroup(env, 'ab', s, targets, { rounds: o.rounds, extraRounds: Math.ceil(o.rounds / 2), seconds: o.seconds, warmupSeconds: o.warmup, maxOtherCores: o.maxOtherCores, connections: CONNECTIONS, loadCpu: cpus?.load ?? null });
  } finally {
    for (const gw of gateways) await stopGateways(gw);
    await stopProcess(stub.p);
  }
  const failed = g.targets.filter((t) => !t.check.startsWith('ok'));
  if (failed.length > 0) log(`check failed: ${failed.map((t) => `${t.name}: ${t.check}`).join('; ')}`);
  const text = summary(o, g);
  process.stdout.write(`${text.join('\n')}\n`);
  if (o.out !== null) {
    writeFileSync(o.out, [`# A/B: ${o.scenario}`, '', ...text.map((l) => `* ${l}`), '', ...roundsTable(g, DIRECT)].join('\n'));
    log(`written: ${o.out}`);
  }
  process.exit(0);
}

await main();
