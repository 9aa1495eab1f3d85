// A/B of two builds of the gateway, by the bench's pinned method (bench/README.md, "Method"):
// both gateways run side by side on the proxy CPU (only one under load at a time), wrk (one
// thread) and the stub on the load CPU, and each round measures the direct stub, A and B in turn,
// the order reversed every other round and rotated every second one; rounds with more than 0.2 cores of other load are
// dropped and replaced. The answer is the median of the per-round ratios B/A, with their min–max.
// With `--paced <rate>` the load is the open-loop generator (paced-load.ts) at that offered rate
// instead of wrk: latency (p50, p99, p99.9 from when each request was due) and CPU per request at
// equal offered load, the p99 goal's terms.
//
//   node dist/bench/ab.js --a <checkout> --b <checkout> [--scenario call|call4k|fresh|callsse|list20|list20sse|list200]
//                         [--rules 1] [--workers 0] [--rounds 6] [--seconds 5] [--warmup 2] [--alg RS256|ES256|EdDSA]
//                         [--a-node '<node flags>'] [--b-node '<node flags>'] [--pin 0,1 | --no-pin]
//                         [--a-upstream-client portcullis|undici] [--b-upstream-client portcullis|undici]
//                         [--a-pipelining <connections>x<depth>] [--b-pipelining <connections>x<depth>]
//                         [--max-other 0.2] [--paced <req/s>] [--out <file.md>]
//
// A checkout is a directory holding a built gateway (bin/portcullis.js + dist/); A and B may be
// the same checkout with different upstream clients (`config.upstreamClient`, which the checkout
// must know; unset: its default). The stub, the
// key and the tokens come from this build. `--out` writes the result as markdown (commits,
// settings, every round) for bench/results.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCENARIOS, parseAbArgs, type AbOptions } from './ab-options.js';
import type { PipeliningPolicy } from '../src/main/config/types.js';
import { parseCpuPlan, type CpuPlan } from './pin.js';
import { installCleanup, stopProcess } from './processes.js';
import { figureStat, pooledPercentile, range, ratioRange, ratioStat, roundsTable, runGroup, usedRounds, type GroupResult } from './rounds.js';
import { CONNECTIONS, DIRECT, S } from './scenarios.js';
import { defaultTokenCount, log, setup } from './setup.js';
import { startGateways, startStub, stopGateways, type RunningGateway } from './targets.js';

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

/** Percentiles over every latency of the rounds used: one run's p99 is bimodal (an old-generation
 * collection falls into its seconds or not), the pooled one is not. */
function pooled(g: GroupResult): string {
  const at = (name: string, p: number): number => pooledPercentile(g, name, p) ?? 0;
  const cell = (p: number): string => `p${p} ${[DIRECT, 'A', 'B'].map((n) => `${n === DIRECT ? 'direct' : n} ${at(n, p).toFixed(2)}`).join(', ')} ms, B/A ${(at('B', p) / at('A', p)).toFixed(2)}×`;
  return `pooled over the rounds used: ${cell(99)}; ${cell(99.9)}`;
}

function pipelined(p: PipeliningPolicy | null): string {
  return p === null ? '' : ` http.pipelining ${p.connections}x${p.depth}`;
}

function summary(o: AbOptions, g: GroupResult): string[] {
  const line = (name: string): string =>
    `${name}: ${range(figureStat(g, name, (x) => x.rps))} req/s, ${range(figureStat(g, name, (x) => x.cpuUs), 1)} µs/req, ${o.paced === null ? '' : `p50 ${range(figureStat(g, name, (x) => x.p50Ms), 2)} ms, `}p99 ${range(figureStat(g, name, (x) => x.p99Ms), 2)} ms${o.paced === null ? '' : `, p99.9 ${range(figureStat(g, name, (x) => x.p999Ms ?? 0), 2)} ms`}`;
  const dropped = g.rounds.length - usedRounds(g).length;
  const load = o.paced === null ? 'wrk, 64 connections' : `paced, ${o.paced} req/s offered on 64 connections, open loop`;
  const ratios = `req/s ${ratioRange(ratioStat(g, 'B', 'A', (x) => x.rps))}, CPU µs/req ${ratioRange(ratioStat(g, 'B', 'A', (x) => x.cpuUs))}, p99 ${ratioRange(ratioStat(g, 'B', 'A', (x) => x.p99Ms))}`;
  return [
    `${o.scenario}, ${o.alg}, ${o.rules} rule(s), --workers ${o.workers}, ${load}; ${usedRounds(g).length} round(s) of ${o.seconds} s used${dropped > 0 ? `, ${dropped} dropped for other load` : ''}${g.rounds.some((r) => r.kept) ? '' : ' — NO QUIET ROUND: do not decide on this'}; ${o.pin === null ? 'not pinned' : `gateways on CPU ${o.pin.split(',')[0] ?? '?'}, wrk and stub on CPU ${o.pin.split(',')[1] ?? '?'}`}`,
    `A ${describe(o.a)} ${o.aNode.join(' ')}${o.aClient === null ? '' : ` upstreamClient ${o.aClient}`}${pipelined(o.aPipelining)}`,
    `B ${describe(o.b)} ${o.bNode.join(' ')}${o.bClient === null ? '' : ` upstreamClient ${o.bClient}`}${pipelined(o.bPipelining)}`,
    line(DIRECT),
    line('A'),
    line('B'),
    `B/A per round, median [min–max]: ${ratios}${o.paced === null ? '' : `, p99.9 ${ratioRange(ratioStat(g, 'B', 'A', (x) => x.p999Ms ?? 0))}`}`,
    ...(o.paced === null ? [] : [pooled(g)]),
  ];
}

async function main(): Promise<void> {
  const o = parseAbArgs(process.argv.slice(2));
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
    for (const [name, checkout, node, client, pipelining] of [['A', o.a, o.aNode, o.aClient, o.aPipelining], ['B', o.b, o.bNode, o.bClient, o.bPipelining]] as const) {
      const spec = { label: name, workers: o.workers, rules: o.rules, processes: 1, ...(client === null ? {} : { upstreamClient: client }), ...(pipelining === null ? {} : { pipelining }) };
      gateways.push(await startGateways(env, spec, cpus?.proxy ?? null, node, join(checkout, 'bin', 'portcullis.js')));
    }
    const targets = [
      { name: DIRECT, url: `http://127.0.0.1:${stub.port}/mcp`, pids: [stub.p.pid], rules: null },
      ...gateways.map((gw, i) => ({ name: i === 0 ? 'A' : 'B', url: `http://127.0.0.1:${gw.port}/mcp`, pids: gw.pids, rules: o.rules })),
    ];
    g = await runGroup(env, 'ab', s, targets, { rounds: o.rounds, extraRounds: Math.ceil(o.rounds / 2), seconds: o.seconds, warmupSeconds: o.warmup, maxOtherCores: o.maxOtherCores, connections: CONNECTIONS, loadCpu: cpus?.load ?? null, ...(o.paced === null ? {} : { pacedRate: o.paced }) });
  } finally {
    for (const gw of gateways) await stopGateways(gw);
    await stopProcess(stub.p);
  }
  const failed = g.targets.filter((t) => !t.check.startsWith('ok'));
  if (failed.length > 0) log(`check failed: ${failed.map((t) => `${t.name}: ${t.check}`).join('; ')}`);
  const text = summary(o, g);
  process.stdout.write(`${text.join('\n')}\n`);
  if (o.out !== null) {
    writeFileSync(o.out, [`# A/B: ${o.scenario}${o.paced === null ? '' : `, paced at ${o.paced} req/s`}`, '', ...text.map((l) => `* ${l}`), '', ...roundsTable(g, DIRECT)].join('\n'));
    log(`written: ${o.out}`);
  }
  process.exit(0);
}

await main();
