// One measurement: wrk against one target for a few seconds, with the CPU the target's
// process(es) used (utime+stime from /proc, all threads), the stub's, wrk's, and how much CPU
// other people's processes took meanwhile (the machine's busy time minus every process of this
// bench, the runner included), which is what decides whether the measurement is kept.

import { join } from 'node:path';
import { isLatencyHistogram } from './latency-histogram.js';
import type { PacedResult, PacedSpec } from './paced-load.js';
import { onCpu } from './pin.js';
import { machineBusy, processCpuSeconds, rssBytes, systemCpu } from './proc.js';
import { livePids, runForLine } from './processes.js';
import { ROOT, mb } from './setup.js';
import { runWrk, type LoadResult } from './wrk.js';

const PACED = join(ROOT, 'dist', 'bench', 'paced-load.js');

/** The request a measurement sends, over and over. */
export interface RequestSpec {
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  /** a different token on every request, walked in order from this file */
  readonly tokensFile?: string;
}

export interface Measurement {
  readonly load: LoadResult;
  /** CPU seconds of the target's process(es), all threads */
  readonly proxyCpu: number;
  readonly perProcess: readonly number[];
  readonly stubCpu: number;
  /** CPU seconds of every process of the test: the target, the stub, the load generator, the
   * runner, and the other targets idling meanwhile */
  readonly oursCpu: number;
  /** cores' worth of CPU other processes used during the measurement */
  readonly otherCores: number;
  readonly rssMaxMB: number;
  readonly rssSamplesMB: readonly number[];
  /** the measurement on the monotonic clock, µs (the clock V8's .cpuprofile uses) */
  readonly windowUs: readonly [number, number];
}

/** CPU µs per request of the target. */
export const cpuUsPerReq = (m: Measurement): number => (m.proxyCpu * 1e6) / Math.max(1, m.load.requests);
/** CPU µs per request of the whole test (target, stub, load generator, runner). */
export const boxUsPerReq = (m: Measurement): number => (m.oursCpu * 1e6) / Math.max(1, m.load.requests);

/** CPU seconds of each pid now (0 once gone). */
function cpuOf(pids: readonly number[]): number[] {
  return pids.map((p) => processCpuSeconds(p) ?? 0);
}

/**
 * Watches the machine while `run` puts load on a target: the target's CPU (`pids`), the stub's,
 * every other process of this bench (their CPU counts as ours, not as other load), the processes
 * `run` starts and reaps (wrk: this process's cutime), and the machine's busy time.
 */
export async function watch(pids: readonly number[], stubPid: number, nproc: number, run: () => Promise<LoadResult>): Promise<Measurement> {
  const others = livePids().filter((p) => !pids.includes(p) && p !== stubPid);
  const cpu0 = cpuOf(pids);
  const stub0 = processCpuSeconds(stubPid) ?? 0;
  const others0 = cpuOf(others);
  const sys0 = systemCpu();
  const self0 = process.cpuUsage();
  const samples: number[] = [];
  const sampler = setInterval(() => {
    let sum = 0;
    for (const p of pids) sum += rssBytes(p) ?? 0;
    samples.push(mb(sum));
  }, 250);
  const t0 = Number(process.hrtime.bigint() / 1000n);
  let load: LoadResult;
  try {
    load = await run();
  } finally {
    clearInterval(sampler);
  }
  const t1 = Number(process.hrtime.bigint() / 1000n);
  const perProcess = cpuOf(pids).map((c, i) => c - (cpu0[i] ?? 0));
  const proxyCpu = perProcess.reduce((a, b) => a + b, 0);
  const stubCpu = pids.includes(stubPid) ? 0 : (processCpuSeconds(stubPid) ?? 0) - stub0;
  const othersCpu = cpuOf(others).reduce((a, c, i) => a + Math.max(0, c - (others0[i] ?? 0)), 0);
  const sys1 = systemCpu();
  const self = process.cpuUsage(self0);
  const oursCpu = proxyCpu + stubCpu + othersCpu + load.wrkCpu + (self.user + self.system) / 1e6;
  const wall = (sys1.total - sys0.total) / nproc;
  const otherCores = wall > 0 ? Math.max(0, (sys1.busy - sys0.busy - oursCpu) / wall) : 0;
  return { load, proxyCpu, perProcess, stubCpu, oursCpu, otherCores, rssMaxMB: samples.length === 0 ? 0 : Math.max(...samples), rssSamplesMB: samples, windowUs: [t0, t1] };
}

export interface WrkRun {
  readonly request: RequestSpec;
  /** where the token walk starts (fresh tokens) */
  readonly tokensStart: number;
  readonly connections: number;
  readonly threads: number;
  readonly seconds: number;
  /** wrk's CPU (null: any) */
  readonly cpu: number | null;
}

/** wrk against one target, watched. */
export function measureWrk(r: WrkRun, pids: readonly number[], stubPid: number, nproc: number, dir: string, name: string): Promise<Measurement> {
  const spec = { ...r.request, tokensStart: r.tokensStart, connections: r.connections, threads: r.threads, seconds: r.seconds, cpu: r.cpu };
  return watch(pids, stubPid, nproc, () => runWrk(spec, dir, name));
}

/** Waits (at most `budgetMs`) for a moment with less than `maxCores` of load on the machine. */
export async function waitQuiet(nproc: number, maxCores: number, budgetMs: number): Promise<void> {
  for (let spent = 0; spent < budgetMs; spent += 250) {
    if ((await machineBusy(250)) * nproc < maxCores) return;
  }
}

/** The paced generator against one target, watched. */
export function measurePaced(spec: PacedSpec, pids: readonly number[], stubPid: number, nproc: number, cpu: number | null): Promise<Measurement> {
  return watch(pids, stubPid, nproc, async () => (await runPaced(spec, cpu)).load);
}

/** The paced (open-loop) load generator as a child process on `cpu`: its result, and the same
 * figures in wrk's shape for watch(). */
export async function runPaced(spec: PacedSpec, cpu: number | null): Promise<{ load: LoadResult; paced: PacedResult }> {
  const cmd = onCpu(cpu, process.execPath, [PACED, JSON.stringify(spec)]);
  const { text, cpuSeconds } = await runForLine(cmd.command, cmd.args, 'PACEDJSON ', 'paced load');
  const paced = parsePacedResult(text);
  const load: LoadResult = {
    requests: paced.ok,
    seconds: paced.seconds,
    rps: paced.ok / paced.seconds,
    p50Ms: paced.p50Ms,
    p90Ms: paced.p90Ms,
    p99Ms: paced.p99Ms,
    p999Ms: paced.p999Ms,
    maxMs: paced.maxMs,
    sent: paced.sent,
    histogram: paced.histogram,
    non2xx: paced.non2xx,
    socketErrors: paced.errors + paced.unanswered,
    bytes: 0,
    wrkCpu: cpuSeconds,
  };
  return { load, paced };
}

const PACED_FIELDS = ['sent', 'ok', 'non2xx', 'errors', 'unanswered', 'seconds', 'p50Ms', 'p90Ms', 'p99Ms', 'p999Ms', 'maxMs', 'sendLagP99Ms'] as const;

function parsePacedResult(text: string): PacedResult {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null) throw new Error('paced load printed no JSON object');
  const o: Record<string, unknown> = { ...parsed };
  const num = (k: (typeof PACED_FIELDS)[number]): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`paced load's result lacks ${k}`);
    return v;
  };
  return {
    sent: num('sent'),
    ok: num('ok'),
    non2xx: num('non2xx'),
    errors: num('errors'),
    unanswered: num('unanswered'),
    seconds: num('seconds'),
    p50Ms: num('p50Ms'),
    p90Ms: num('p90Ms'),
    p99Ms: num('p99Ms'),
    p999Ms: num('p999Ms'),
    maxMs: num('maxMs'),
    sendLagP99Ms: num('sendLagP99Ms'),
    histogram: isLatencyHistogram(o['histogram']) ? o['histogram'] : [],
  };
}
