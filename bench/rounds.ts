// Measuring by turns: the targets of a group (the direct stub first, as the host-speed
// reference, then the proxies) all run side by side, and each round measures every one of them
// in turn, the order reversed every other round and rotated every second one (A B C, C B A,
// B C A, B A C, C A B, A C B), so that the host's drift hits them alike and each takes every
// place in the order as often: a target always measured in the middle idles the same time
// between its runs every round, the others alternately none and twice as long, and that
// alone moved paced p99 between two copies of one build. A round in which other people's processes took more than `maxOtherCores` of CPU
// during any of its measurements is dropped, and rounds go on (a few more at most) until enough
// are kept. Figures are the median over kept rounds with their min–max; comparisons between two
// targets are the median of the per-round ratios.

import { histogramPercentile, mergeHistograms, type LatencyHistogram } from './latency-histogram.js';
import { check, headersFor, bodyOf, type Scenario } from './scenarios.js';
import { boxUsPerReq, cpuUsPerReq, measurePaced, measureWrk, runPaced, waitQuiet, type Measurement, type RequestSpec } from './measure.js';
import { connectionsTo } from './proc.js';
import { fmt, log, median, walkOn, walkStart, type Env } from './setup.js';

export interface RoundTarget {
  readonly name: string;
  readonly url: string;
  /** the target's processes (all threads counted), for its CPU */
  readonly pids: readonly number[];
  /** the rules it applies, for the answer check (null: a relay or the stub) */
  readonly rules: number | null;
}

export interface RoundSettings {
  readonly rounds: number;
  /** rounds that may be added to replace dropped ones */
  readonly extraRounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** a round with more other load than this (cores) during any measurement is dropped */
  readonly maxOtherCores: number;
  readonly connections: number;
  /** wrk's CPU (null: any) */
  readonly loadCpu: number | null;
  /** offered req/s of the open-loop generator (paced-load.ts) instead of wrk's saturating load;
   * undefined: wrk */
  readonly pacedRate?: number;
}

/** One target in one round. */
export interface Figures {
  readonly rps: number;
  readonly cpuUs: number;
  readonly boxUs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** the paced generator's 99.9th percentile (null under wrk, which does not report it) */
  readonly p999Ms: number | null;
  /** the paced generator's latencies, to pool rounds (null under wrk) */
  readonly histogram: LatencyHistogram | null;
  readonly otherCores: number;
  readonly non2xx: number;
  readonly socketErrors: number;
  readonly rssMB: number;
}

export interface Round {
  readonly index: number;
  readonly order: readonly string[];
  readonly figures: ReadonlyMap<string, Figures>;
  /** the most other load seen during one of its measurements, cores */
  readonly otherCores: number;
  readonly kept: boolean;
}

export interface GroupResult {
  readonly id: string;
  readonly scenario: Scenario;
  readonly targets: ReadonlyArray<{ readonly name: string; readonly check: string }>;
  readonly rounds: readonly Round[];
  readonly settings: RoundSettings;
}

export interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function stat(xs: readonly number[]): Stat {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** The rounds the figures come from: the kept ones, or every round when none was kept (then
 * the group is flagged). */
export function usedRounds(g: GroupResult): readonly Round[] {
  const kept = g.rounds.filter((r) => r.kept);
  return kept.length > 0 ? kept : g.rounds;
}

export const quiet = (g: GroupResult): boolean => g.rounds.some((r) => r.kept);

/** A target's figure over the rounds used. */
export function figureStat(g: GroupResult, target: string, f: (x: Figures) => number): Stat {
  return stat(usedRounds(g).flatMap((r) => {
    const x = r.figures.get(target);
    return x === undefined ? [] : [f(x)];
  }));
}

/** a ÷ b per round, over the rounds used. */
export function ratioStat(g: GroupResult, a: string, b: string, f: (x: Figures) => number): Stat {
  return stat(usedRounds(g).flatMap((r) => {
    const x = r.figures.get(a);
    const y = r.figures.get(b);
    return x === undefined || y === undefined || f(y) === 0 ? [] : [f(x) / f(y)];
  }));
}

/** A percentile (0–100) of every latency of `target` over the rounds used, pooled (paced rounds
 * only; null under wrk). */
export function pooledPercentile(g: GroupResult, target: string, p: number): number | null {
  const hs = usedRounds(g).flatMap((r) => {
    const h = r.figures.get(target)?.histogram;
    return h === undefined || h === null ? [] : [h];
  });
  return hs.length === 0 ? null : histogramPercentile(mergeHistograms(hs), p);
}

/** How far a round's direct stub strayed from its median over the rounds used: req/s and CPU
 * per request, as fractions (0.1 = 10 %). The host's speed, as the stub sees it. */
export function drift(g: GroupResult, r: Round, direct: string): { rps: number; cpu: number } {
  const x = r.figures.get(direct);
  if (x === undefined) return { rps: 0, cpu: 0 };
  const rps = figureStat(g, direct, (f) => f.rps).median;
  const cpu = figureStat(g, direct, (f) => f.cpuUs).median;
  return { rps: x.rps / rps - 1, cpu: x.cpuUs / cpu - 1 };
}

/** A round whose direct stub moved more than this (req/s or its CPU per request) is flagged. */
export const DRIFT_FLAG = 0.15;

function figures(m: Measurement): Figures {
  return {
    rps: m.load.rps,
    cpuUs: cpuUsPerReq(m),
    boxUs: boxUsPerReq(m),
    p50Ms: m.load.p50Ms,
    p99Ms: m.load.p99Ms,
    p999Ms: m.load.p999Ms ?? null,
    histogram: m.load.histogram ?? null,
    otherCores: m.otherCores,
    non2xx: m.load.non2xx,
    socketErrors: m.load.socketErrors,
    rssMB: m.rssMaxMB,
  };
}

/** The request of `s` to `url`, with the one token or the token file. */
export function requestFor(env: Env, s: Scenario, url: string): RequestSpec {
  return {
    url,
    body: bodyOf(s),
    headers: headersFor(s, s.auth === 'token' ? env.token : null),
    ...(s.auth === 'fresh' ? { tokensFile: env.tokensFile } : {}),
  };
}

/** Seconds of unmeasured load at the measured rate before each paced measurement. */
export const LEAD_IN_SECONDS = 1;

/**
 * The target loaded at `rate`, unmeasured, just before a paced measurement. Between its runs a
 * target idles for the other targets' runs: long enough for the stub to close idle upstream
 * connections and for V8 to shrink the idle heap, so a run's first ~100 ms would reconnect, collect
 * every few ms and recompile, and its p99 would tell how the target wakes from a lull rather than
 * how it serves at that rate. Every target gets the same lead-in.
 */
export async function pacedLeadIn(env: Env, s: Scenario, t: RoundTarget, rate: number, connections: number, cpu: number | null): Promise<void> {
  const spec = { ...requestFor(env, s, t.url), tokensStart: walkStart(env, t.name), rate, seconds: LEAD_IN_SECONDS, connections };
  const { paced } = await runPaced(spec, cpu);
  if (s.auth === 'fresh') env.walks.set(t.name, walkStart(env, t.name) + paced.sent);
}

/** One measurement of a target (wrk, or the paced generator at `o.pacedRate`), its token walk
 * carried on. */
export async function measureTarget(env: Env, s: Scenario, t: RoundTarget, seconds: number, o: RoundSettings, name: string): Promise<Measurement> {
  if (o.pacedRate !== undefined) {
    await pacedLeadIn(env, s, t, o.pacedRate, o.connections, o.loadCpu);
    const spec = { ...requestFor(env, s, t.url), tokensStart: walkStart(env, t.name), rate: o.pacedRate, seconds, connections: o.connections };
    const m = await measurePaced(spec, t.pids, env.stubPid, env.nproc, o.loadCpu);
    // every request due was sent: the next walk starts after them
    if (s.auth === 'fresh') env.walks.set(t.name, walkStart(env, t.name) + (m.load.sent ?? m.load.requests));
    return m;
  }
  const m = await measureWrk(
    { request: requestFor(env, s, t.url), tokensStart: walkStart(env, t.name), connections: o.connections, threads: 1, seconds, cpu: o.loadCpu },
    t.pids,
    env.stubPid,
    env.nproc,
    env.dir,
    name,
  );
  if (s.auth === 'fresh') walkOn(env, t.name, m.load.requests, o.connections);
  return m;
}

/** The longest wait for the proxies' upstream connections to close after the warm-ups: the
 * stub's idle timeout (uWS: 10 s, checked every 4 s) and a margin. */
export const SETTLE_LIMIT_MS = 15_000;

/** Processes whose upstream connections have been closed once since they started. */
const settled = new Set<number>();

/**
 * After the warm-ups, waits until no proxy of the group started since the last wait holds a
 * connection to the stub: each has closed its idle upstream connections (the gateway after its
 * keep-alive limit) or had the stub close them, once. The first time a Node process takes that
 * path, V8 recompiles the stream internals every upstream read goes through (a ~100 ms slowdown),
 * and a burst's idle connections close some seconds after it: without this wait that happens
 * once per process, inside whichever measured run it falls in.
 */
export async function settleUpstreams(env: Env, targets: readonly RoundTarget[]): Promise<void> {
  const fresh = targets.filter((t) => !t.pids.includes(env.stubPid) && t.pids.some((p) => !settled.has(p)));
  if (fresh.length === 0) return;
  const started = performance.now();
  const open = (): RoundTarget[] => fresh.filter((t) => connectionsTo(t.pids, env.stubPort) > 0);
  let left = open();
  while (left.length > 0 && performance.now() - started < SETTLE_LIMIT_MS) {
    await new Promise((r) => setTimeout(r, 100));
    left = open();
  }
  for (const t of fresh) for (const p of t.pids) settled.add(p);
  const took = ((performance.now() - started) / 1000).toFixed(1);
  log(`upstream connections closed once after the warm-ups (${took} s)${left.length === 0 ? '' : `; still open after ${SETTLE_LIMIT_MS / 1000} s: ${left.map((t) => t.name).join(', ')}`}`);
}

/** The order of round `i` (from 0): forward or reversed by turns, rotated by one place every
 * two rounds; over 2n rounds of n targets each takes every place twice. */
export function roundOrder<T>(targets: readonly T[], i: number): T[] {
  const base = i % 2 === 0 ? [...targets] : [...targets].reverse();
  const shift = Math.floor(i / 2) % Math.max(1, base.length);
  return [...base.slice(shift), ...base.slice(0, shift)];
}

/** Every target checked and warmed up, its upstream connections closed once (settleUpstreams),
 * then measured by turns. `targets[0]` is the direct stub. */
export async function runGroup(env: Env, id: string, s: Scenario, targets: readonly RoundTarget[], o: RoundSettings): Promise<GroupResult> {
  const checked: Array<{ name: string; check: string }> = [];
  for (const t of targets) {
    checked.push({ name: t.name, check: await check(t.url, s, env, t.rules) });
    // JIT tiers, connection pools, caches: a process keeps speeding up for seconds
    await measureTarget(env, s, t, o.warmupSeconds, o, `${id}-warm`);
  }
  await settleUpstreams(env, targets);
  const rounds: Round[] = [];
  for (let i = 0; i < o.rounds + o.extraRounds && rounds.filter((r) => r.kept).length < o.rounds; i++) {
    await waitQuiet(env.nproc, o.maxOtherCores, 2000);
    const order = roundOrder(targets, i);
    const byTarget = new Map<string, Figures>();
    for (const t of order) byTarget.set(t.name, figures(await measureTarget(env, s, t, o.seconds, o, `${id}-${i}`)));
    const other = Math.max(...[...byTarget.values()].map((f) => f.otherCores));
    const round: Round = { index: i, order: order.map((t) => t.name), figures: byTarget, otherCores: other, kept: other <= o.maxOtherCores };
    rounds.push(round);
    log(`${id} round ${i + 1}${round.kept ? '' : ` DROPPED (other load ${other.toFixed(2)} cores)`}: ${order.map((t) => `${t.name} ${fmt(byTarget.get(t.name)?.rps ?? 0)}`).join(', ')}`);
  }
  return { id, scenario: s, targets: checked, rounds, settings: o };
}

// ---------------------------------------------------------------------------------------------
// output

export const range = (s: Stat, digits = 0): string => `${fmt(s.median, digits)} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`;
export const ratioRange = (s: Stat): string => (s.n === 0 ? '—' : `${s.median.toFixed(2)}× [${s.min.toFixed(2)}–${s.max.toFixed(2)}]`);

const latencies = (x: Figures): string => `${x.p50Ms.toFixed(2)} / ${x.p99Ms.toFixed(2)} / ${x.p999Ms === null ? '—' : x.p999Ms.toFixed(2)}`;

/** Every round of a group as a markdown table: each target's req/s @ CPU µs/req, the direct
 * stub's drift, the other load, whether the round was kept. */
export function roundsTable(g: GroupResult, direct: string): string[] {
  const paced = g.settings.pacedRate !== undefined;
  const rows = g.rounds.map((r) => {
    const d = drift(g, r, direct);
    const flag = Math.abs(d.rps) > DRIFT_FLAG || Math.abs(d.cpu) > DRIFT_FLAG ? ' ⚠' : '';
    const cells = g.targets.map((t) => {
      const x = r.figures.get(t.name);
      return x === undefined ? '—' : `${paced ? latencies(x) : fmt(x.rps)} @ ${x.cpuUs.toFixed(0)}${x.non2xx + x.socketErrors > 0 ? ` (${x.non2xx + x.socketErrors} errors)` : ''}`;
    });
    return `| ${r.index + 1} | ${r.order.map((n) => g.targets.findIndex((t) => t.name === n) + 1).join(' ')} | ${cells.join(' | ')} | ${(d.rps * 100).toFixed(0)} % / ${(d.cpu * 100).toFixed(0)} %${flag} | ${r.otherCores.toFixed(2)} | ${r.kept ? 'yes' : '**dropped**'} |`;
  });
  const what = paced ? `p50 / p99 / p99.9 ms at ${fmt(g.settings.pacedRate ?? 0)} req/s offered @ CPU µs/req` : 'req/s @ CPU µs/req';
  return [
    `Rounds (targets numbered in the table's order; cells ${what}; "direct drift": the stub's req/s and CPU per request against their median, ⚠ beyond ${DRIFT_FLAG * 100} %):`,
    '',
    `| round | order | ${g.targets.map((t) => t.name).join(' | ')} | direct drift (req/s / CPU) | other load, cores | kept |`,
    `|--:|---|${g.targets.map(() => '--:').join('|')}|--:|--:|---|`,
    ...rows,
    '',
  ];
}
