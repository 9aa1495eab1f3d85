// `npm run bench`: the gateway against HAProxy-jwt, measured by the pinned method (bench/README.md,
// "Method"). On one core: the proxy under test alone on one vCPU, wrk (one thread) and the stub on
// the other; groups of targets measured by turns with the direct stub in every round, for
// tools/call (with the floor relays), a fresh RS256 token per request, and tools/list 20 with a
// rule; then latency at one offered rate both proxies can carry; then `--processes 2` against
// HAProxy on two threads, unpinned, with the CPU per request of the whole box. Writes
// bench/results/<date>-<commit>.{md,json}.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipeliningPolicy } from '../src/main/config/types.js';
import { haproxyVersion, startHaproxy, type CProxy } from './c-proxies.js';
import { runPaced, watch } from './measure.js';
import type { PacedResult } from './paced-load.js';
import { threadAffinities, type CpuPlan } from './pin.js';
import { machineInfo } from './proc.js';
import { stopProcess, type Started } from './processes.js';
import { LEAD_IN_SECONDS, figureStat, pacedLeadIn, quiet, range, ratioRange, ratioStat, requestFor, roundsTable, runGroup, stat, usedRounds, type Figures, type GroupResult, type RoundSettings, type RoundTarget, type Stat } from './rounds.js';
import { CONNECTIONS, DIRECT, S, type Scenario } from './scenarios.js';
import { RESULTS, commitInfo, fmt, log, setup, walkStart, type Env } from './setup.js';
import { freePort, startGateways, startRelay, startStub, stopGateways, withStubUnpinned, type RelayKind, type RunningGateway } from './targets.js';
import { wrkVersion } from './wrk.js';

export interface ReportOptions {
  readonly rounds: number;
  readonly seconds: number;
  readonly warmup: number;
  /** rounds with more other load than this (cores) are dropped */
  readonly maxOtherCores: number;
  readonly cpus: CpuPlan | null;
  /** the gateway's --workers */
  readonly workers: number;
  /** which parts run, by id: call, fresh, list, p99, processes */
  readonly only: RegExp | null;
  /** leave the floor relays out of the call group */
  readonly noRelays: boolean;
  readonly tokens: number;
  /** the offered rate of the equal-load latency runs (null: half the slower proxy's median req/s) */
  readonly rate: number | null;
  /** the gateway's stub target with `http.pipelining` (null: the default, not pipelined) */
  readonly pipelining: PipeliningPolicy | null;
}

const HAPROXY = 'HAProxy-jwt';
const GATEWAY = 'gateway';
/** the gateway's policy in every group: the bench's rule decides the call and filters the list */
const RULES = 1;
const RELAYS: ReadonlyArray<{ kind: RelayKind; name: string }> = [
  { kind: 'undici', name: 'uWS + undici dispatch' },
  { kind: 'socket', name: 'uWS + net.Socket client' },
  { kind: 'socket-pipelined', name: 'uWS + net.Socket, pipelined ×4' },
];

/** The gateway spec's part for `--pipelining` (nothing when not asked for). */
function pipelinedSpec(o: ReportOptions): { readonly pipelining?: PipeliningPolicy } {
  return o.pipelining === null ? {} : { pipelining: o.pipelining };
}

/** The issue's targets, gateway ÷ HAProxy-jwt, one core each, same run. */
const GOALS = { callRps: 1.5, callCpu: 0.7, listRps: 1.2, freshRps: 0.8, p99: 1 } as const;

interface EqualLoad {
  readonly scenario: string;
  readonly rate: number;
  /** per run, in order */
  readonly runs: ReadonlyArray<{ readonly target: string; readonly p50Ms: number; readonly p99Ms: number; readonly p999Ms: number; readonly achieved: number; readonly errors: number; readonly sendLagP99Ms: number; readonly otherCores: number; readonly kept: boolean }>;
  readonly gatewayP99: Stat;
  readonly haproxyP99: Stat;
  /** gateway ÷ HAProxy of the median p99 (kept runs; all runs when none was kept) */
  readonly ratio: number;
}

interface Check {
  readonly target: string;
  readonly measured: string;
  readonly goal: string;
  readonly met: boolean | null;
}

const affinities = (pids: readonly number[]): string => [...threadAffinities(pids)].map(([cpus, n]) => `${cpus}: ${n}`).join(', ');

const want = (o: ReportOptions, id: string): boolean => o.only === null || o.only.test(id);

function settings(o: ReportOptions, loadCpu: number | null): RoundSettings {
  return { rounds: o.rounds, extraRounds: Math.ceil(o.rounds / 2), seconds: o.seconds, warmupSeconds: o.warmup, maxOtherCores: o.maxOtherCores, connections: CONNECTIONS, loadCpu };
}

function target(name: string, port: number, pids: readonly number[], rules: number | null): RoundTarget {
  return { name, url: `http://127.0.0.1:${port}/mcp`, pids, rules };
}

async function withRelays(env: Env, o: ReportOptions, run: (relays: RoundTarget[]) => Promise<void>): Promise<void> {
  const started: Started[] = [];
  const relays: RoundTarget[] = [];
  try {
    if (!o.noRelays) {
      for (const r of RELAYS) {
        const { p, port } = await startRelay(env, r.kind, o.cpus?.proxy ?? null);
        started.push(p);
        relays.push(target(r.name, port, [p.pid], null));
      }
    }
    await run(relays);
  } finally {
    for (const p of started) await stopProcess(p);
  }
}

/** Latency at one offered rate, gateway and HAProxy alternately (G H H G …), open loop. A run
 * with more other load than allowed is dropped and the pattern goes on, a few runs more at most. */
async function equalLoad(env: Env, o: ReportOptions, s: Scenario, group: GroupResult, gw: RoundTarget, hap: RoundTarget): Promise<EqualLoad> {
  const slower = Math.min(figureStat(group, GATEWAY, (f) => f.rps).median, figureStat(group, HAPROXY, (f) => f.rps).median);
  const rate = Math.max(100, Math.round(o.rate ?? slower / 2));
  const runs: Array<EqualLoad['runs'][number]> = [];
  const perTarget = Math.max(2, Math.round(o.rounds / 3));
  const keptOf = (name: string): number => runs.filter((r) => r.target === name && r.kept).length;
  for (let i = 0; i < 3 * perTarget && (keptOf(GATEWAY) < perTarget || keptOf(HAPROXY) < perTarget); i++) {
    const t = i % 4 === 0 || i % 4 === 3 ? gw : hap;
    await pacedLeadIn(env, s, t, rate, CONNECTIONS, o.cpus?.load ?? null);
    const spec = { ...requestFor(env, s, t.url), tokensStart: walkStart(env, t.name), rate, seconds: o.seconds, connections: CONNECTIONS };
    const got: { paced: PacedResult | null } = { paced: null };
    const m = await watch(t.pids, env.stubPid, env.nproc, async () => {
      const r = await runPaced(spec, o.cpus?.load ?? null);
      got.paced = r.paced;
      return r.load;
    });
    const p = got.paced ?? { sent: 0, p50Ms: 0, p99Ms: 0, p999Ms: 0, sendLagP99Ms: 0 };
    if (s.auth === 'fresh') env.walks.set(t.name, walkStart(env, t.name) + p.sent);
    const kept = m.otherCores <= o.maxOtherCores;
    runs.push({ target: t.name, p50Ms: p.p50Ms, p99Ms: p.p99Ms, p999Ms: p.p999Ms, achieved: m.load.rps, errors: m.load.non2xx + m.load.socketErrors, sendLagP99Ms: p.sendLagP99Ms, otherCores: m.otherCores, kept });
    log(`p99 at ${fmt(rate)} req/s, ${s.id}: ${t.name} p99 ${p.p99Ms.toFixed(2)} ms (p50 ${p.p50Ms.toFixed(2)}, achieved ${fmt(m.load.rps)} req/s, other load ${m.otherCores.toFixed(2)}${kept ? '' : ', DROPPED'})`);
  }
  const p99Of = (name: string): Stat => {
    const mine = runs.filter((r) => r.target === name);
    const kept = mine.filter((r) => r.kept);
    return stat((kept.length > 0 ? kept : mine).map((r) => r.p99Ms));
  };
  const gatewayP99 = p99Of(GATEWAY);
  const haproxyP99 = p99Of(HAPROXY);
  return { scenario: s.id, rate, runs, gatewayP99, haproxyP99, ratio: gatewayP99.median / haproxyP99.median };
}

export async function pinnedReport(o: ReportOptions): Promise<void> {
  const started = performance.now();
  const wrk = wrkVersion();
  if (wrk === null) throw new Error('wrk is not installed (apt-get install wrk); the bench needs it');
  const haproxy = haproxyVersion();
  const machine = machineInfo(wrk);
  const commit = commitInfo();
  log(`machine: ${machine.nproc} × ${machine.cpuModel}, node ${machine.node}, wrk ${wrk}, ${haproxy ?? 'no HAProxy'}; commit ${commit.short}${commit.dirty ? ' (+ uncommitted changes in src/bin)' : ''}; ${o.cpus === null ? 'not pinned' : `proxy on CPU ${o.cpus.proxy}, wrk and stub on CPU ${o.cpus.load}`}`);
  const env = await setup({ tokenCount: o.tokens, cpus: o.cpus });
  const stub = await startStub(o.cpus?.load ?? null);
  env.stubPort = stub.port;
  env.stubPid = stub.p.pid;
  const one = settings(o, o.cpus?.load ?? null);
  const groups: GroupResult[] = [];
  const equal: EqualLoad[] = [];
  const notes: string[] = [];
  let both: GroupResult | null = null;
  const direct = target(DIRECT, stub.port, [stub.p.pid], null);
  try {
    let hap: CProxy | null = null;
    let gw: RunningGateway | null = null;
    try {
      if (haproxy !== null) hap = await startHaproxy({ dir: env.dir, port: await freePort(), stubPort: env.stubPort, jwksFile: env.jwksFile, threads: 1, cpu: o.cpus?.proxy ?? null });
      else notes.push('HAProxy is not installed (apt-get install haproxy): the gateway was measured alone and no target can be judged.');
      gw = await startGateways(env, { label: GATEWAY, workers: o.workers, rules: RULES, processes: 1, ...pipelinedSpec(o) }, o.cpus?.proxy ?? null);
      const hapT = hap === null ? [] : [target(HAPROXY, hap.port, hap.pids, null)];
      const gwT = target(GATEWAY, gw.port, gw.pids, RULES);
      const oneCore: ReadonlyArray<{ id: string; s: Scenario }> = [
        { id: 'call', s: S.call },
        { id: 'fresh', s: S.fresh },
        { id: 'list', s: S.list20 },
      ];
      for (const g of oneCore) {
        if (!want(o, g.id)) continue;
        if (g.id === 'call') await withRelays(env, o, async (relays) => void groups.push(await runGroup(env, g.id, g.s, [direct, ...relays, ...hapT, gwT], one)));
        else groups.push(await runGroup(env, g.id, g.s, [direct, ...hapT, gwT], one));
      }
      const hapTarget = hapT[0];
      if (want(o, 'p99') && hapTarget !== undefined) {
        for (const g of groups) equal.push(await equalLoad(env, o, g.scenario, g, gwT, hapTarget));
      }
      notes.push(`CPUs each thread may run on, read from /proc after the one-core measurements (CPU list: threads): gateway ${affinities(gw.pids)}${hap === null ? '' : `; HAProxy-jwt ${affinities(hap.pids)}`}; stub ${affinities([stub.p.pid])}.`);
    } finally {
      if (gw !== null) await stopGateways(gw);
      if (hap !== null) await stopGateways({ procs: [hap.p], pids: hap.pids, port: hap.port, how: HAPROXY });
    }
    if (want(o, 'processes')) both = await bothCores(env, o, direct, notes);
  } finally {
    await stopProcess(stub.p);
  }
  const elapsed = (performance.now() - started) / 1000;
  const checks = targetChecks(groups, equal);
  const date = new Date().toISOString().slice(0, 10);
  // a smoke test or a part of the report is never taken for a full run of the same commit
  const partial = o.only !== null || o.rounds < 6 || o.seconds < 5 ? '-partial' : '';
  const pipelined = o.pipelining === null ? '' : `-pipelined-${o.pipelining.connections}x${o.pipelining.depth}`;
  const stem = `${date}-${commit.short}${commit.dirty ? '-dirty' : ''}${pipelined}${partial}`;
  const md = markdown({ o, date, commit, machine: { ...machine, haproxy: haproxy ?? 'not installed' }, elapsed, groups, equal, both, checks, notes });
  const json = { date: new Date().toISOString(), commit, machine: { ...machine, haproxy }, options: { ...o, only: o.only?.source ?? null }, elapsedSeconds: elapsed, groups: groups.map(groupJson), equalLoad: equal, bothCores: both === null ? null : groupJson(both), targets: checks, notes };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, `${stem}.md`), md);
  writeFileSync(join(RESULTS, `${stem}.json`), `${JSON.stringify(json, null, 2)}\n`);
  rmSync(env.dir, { recursive: true, force: true });
  process.stdout.write(`\n${md}\nresults: bench/results/${stem}.md and .json (${elapsed.toFixed(0)} s)\n`);
}

/** `--processes 2` against HAProxy on two threads, nothing pinned (the stub's pinning lifted). */
function bothCores(env: Env, o: ReportOptions, direct: RoundTarget, notes: string[]): Promise<GroupResult> {
  return withStubUnpinned(env, async () => {
    let hap: CProxy | null = null;
    let gw: RunningGateway | null = null;
    try {
      if (haproxyVersion() !== null) hap = await startHaproxy({ dir: env.dir, port: await freePort(), stubPort: env.stubPort, jwksFile: env.jwksFile, threads: 2 });
      gw = await startGateways(env, { label: `${GATEWAY} ×2`, workers: o.workers, rules: RULES, processes: 2, ...pipelinedSpec(o) }, null);
      notes.push(`Both cores: the gateway as \`--processes 2 --workers ${o.workers}\` (a primary and two forked processes on one port; CPU summed over all three), HAProxy \`nbthread 2\`; wrk (one thread), the stub and the proxies wherever the scheduler puts them.`);
      const targets = [direct, ...(hap === null ? [] : [target(`${HAPROXY} 2 threads`, hap.port, hap.pids, null)]), target(`${GATEWAY} --processes 2`, gw.port, gw.pids, RULES)];
      return await runGroup(env, 'processes', S.call, targets, settings(o, null));
    } finally {
      if (gw !== null) await stopGateways(gw);
      if (hap !== null) await stopGateways({ procs: [hap.p], pids: hap.pids, port: hap.port, how: HAPROXY });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// output

function targetChecks(groups: readonly GroupResult[], equal: readonly EqualLoad[]): Check[] {
  const out: Check[] = [];
  const group = (id: string): GroupResult | undefined => groups.find((g) => g.id === id && g.targets.some((t) => t.name === HAPROXY));
  const rps = (x: Figures): number => x.rps;
  const measured = (g: GroupResult, st: Stat): string => `${ratioRange(st)}${quiet(g) ? '' : ' (no quiet round: do not use)'}`;
  const call = group('call');
  if (call !== undefined) {
    const r = ratioStat(call, GATEWAY, HAPROXY, rps);
    const c = ratioStat(call, GATEWAY, HAPROXY, (x) => x.cpuUs);
    out.push({ target: 'tools/call req/s', measured: measured(call, r), goal: `≥ ${GOALS.callRps}×`, met: quiet(call) ? r.median >= GOALS.callRps : null });
    out.push({ target: 'tools/call CPU per request', measured: measured(call, c), goal: `≤ ${GOALS.callCpu}×`, met: quiet(call) ? c.median <= GOALS.callCpu : null });
  }
  const list = group('list');
  if (list !== undefined) {
    const r = ratioStat(list, GATEWAY, HAPROXY, rps);
    out.push({ target: 'tools/list 20 with a rule, req/s', measured: measured(list, r), goal: `≥ ${GOALS.listRps}×`, met: quiet(list) ? r.median >= GOALS.listRps : null });
  }
  const fresh = group('fresh');
  if (fresh !== undefined) {
    const r = ratioStat(fresh, GATEWAY, HAPROXY, rps);
    out.push({ target: 'a fresh RS256 token per request, req/s', measured: measured(fresh, r), goal: `≥ ${GOALS.freshRps}×`, met: quiet(fresh) ? r.median >= GOALS.freshRps : null });
  }
  for (const e of equal) {
    const noisy = e.runs.every((r) => !r.kept) ? ' (no quiet run: do not use)' : '';
    out.push({ target: `${e.scenario}: p99 at ${fmt(e.rate)} req/s offered`, measured: `${e.ratio.toFixed(2)}× (${e.gatewayP99.median.toFixed(2)} vs ${e.haproxyP99.median.toFixed(2)} ms)${noisy}`, goal: `≤ ${GOALS.p99}×`, met: noisy === '' ? e.ratio <= GOALS.p99 : null });
  }
  return out;
}

function groupTitle(g: GroupResult): string {
  if (g.id === 'processes') return `Both cores: \`--processes 2\` against HAProxy-jwt on two threads (${g.scenario.id})`;
  return `One core: ${g.scenario.id}${g.id === 'list' ? ' (the gateway applies the rule: 10 of 20 tools kept; HAProxy filters nothing)' : ''}`;
}

function groupTables(g: GroupResult): string[] {
  const used = usedRounds(g);
  const dropped = g.rounds.filter((r) => !r.kept).length;
  const ref = g.targets.some((t) => t.name === HAPROXY) ? HAPROXY : g.targets.find((t) => t.name.startsWith(HAPROXY))?.name;
  const box = g.id === 'processes';
  const head = `| target | req/s | × direct | CPU µs/req${box ? ' | box CPU µs/req' : ''} | wrk p99 ms | ${ref === undefined ? '' : `req/s × ${ref} | CPU × ${ref}${box ? ' | box CPU ×' : ''} | `}check |`;
  const sep = `|---|--:|--:|--:${box ? '|--:' : ''}|--:|${ref === undefined ? '' : `--:|--:${box ? '|--:' : ''}|`}---|`;
  const lines = g.targets.map((t) => {
    const f = (fn: (x: Figures) => number): Stat => figureStat(g, t.name, fn);
    const vsRef = ref === undefined ? '' : t.name === ref || t.name === DIRECT ? ` — | —${box ? ' | —' : ''} |` : ` ${ratioRange(ratioStat(g, t.name, ref, (x) => x.rps))} | ${ratioRange(ratioStat(g, t.name, ref, (x) => x.cpuUs))}${box ? ` | ${ratioRange(ratioStat(g, t.name, ref, (x) => x.boxUs))}` : ''} |`;
    return `| ${t.name} | ${range(f((x) => x.rps))} | ${t.name === DIRECT ? '1' : ratioStat(g, t.name, DIRECT, (x) => x.rps).median.toFixed(3)} | ${range(f((x) => x.cpuUs), 1)}${box ? ` | ${range(f((x) => x.boxUs), 1)}` : ''} | ${f((x) => x.p99Ms).median.toFixed(2)} |${vsRef} ${t.check} |`;
  });
  return [
    `## ${groupTitle(g)}`,
    '',
    `${used.length} round(s) used${dropped > 0 ? `, ${dropped} dropped for other load above ${g.settings.maxOtherCores} cores` : ''}${quiet(g) ? '' : ' — **no round was quiet: these figures come from noisy rounds, do not use them**'}. Cells: median [min–max] over the rounds used; ratios are medians of the per-round ratios.`,
    '',
    head,
    sep,
    ...lines,
    '',
    ...roundsTable(g, DIRECT),
  ];
}

function equalTables(equal: readonly EqualLoad[]): string[] {
  if (equal.length === 0) return [];
  return [
    '## p99 at equal offered load',
    '',
    `Each proxy driven open loop at the same rate (bench/paced-load.ts on the load CPU: requests due at fixed intervals on ${CONNECTIONS} keep-alive connections, latency from when each was due; each run after ${LEAD_IN_SECONDS} s of unmeasured load at the same rate, so it starts from warm connections and heap), gateway and HAProxy alternately (G H H G …), a run with too much other load dropped and replaced. The rate is half the slower proxy's median req/s above, unless \`--rate\` set it.`,
    '',
    '| scenario | offered req/s | gateway p99 ms | HAProxy-jwt p99 ms | gateway ÷ HAProxy | runs: target p50 / p99 / p99.9 ms, achieved req/s, errors, send lag p99 ms, other load |',
    '|---|--:|--:|--:|--:|---|',
    ...equal.map(
      (e) =>
        `| ${e.scenario} | ${fmt(e.rate)} | ${range(e.gatewayP99, 2)} | ${range(e.haproxyP99, 2)} | ${e.ratio.toFixed(2)}× | ${e.runs.map((r) => `${r.target === GATEWAY ? 'G' : 'H'} ${r.p50Ms.toFixed(2)} / ${r.p99Ms.toFixed(2)} / ${r.p999Ms.toFixed(2)}, ${fmt(r.achieved)}, ${r.errors}, ${r.sendLagP99Ms.toFixed(2)}, ${r.otherCores.toFixed(2)}${r.kept ? '' : ' (dropped)'}`).join('; ')} |`,
    ),
    '',
  ];
}

function markdown(x: {
  o: ReportOptions;
  date: string;
  commit: { short: string; dirty: boolean };
  machine: ReturnType<typeof machineInfo> & { haproxy: string };
  elapsed: number;
  groups: readonly GroupResult[];
  equal: readonly EqualLoad[];
  both: GroupResult | null;
  checks: readonly Check[];
  notes: readonly string[];
}): string {
  const { o, machine } = x;
  const pinning =
    o.cpus === null
      ? 'Nothing pinned (`--no-pin`): the one-core groups are not one core each; read them as a smoke test only.'
      : `Pinned: the proxy under test alone on CPU ${o.cpus.proxy} (\`taskset\`, every thread of it: the gateway's worker threads and libuv's pool included), wrk (one thread, ${CONNECTIONS} connections) and the stub on CPU ${o.cpus.load}; the proxies not under load idle on CPU ${o.cpus.proxy} meanwhile.`;
  const gatewayWhat = `The gateway: jwtAuth (RS256, strict) and one rule (\`mcpAuthorization\`: decides the call, keeps 10 of 20 tools)${o.pipelining === null ? '' : `, its target with \`http.pipelining\` ${o.pipelining.connections} connections × ${o.pipelining.depth}`}, \`--workers ${o.workers}\`${o.workers > 0 ? ` (its worker threads on CPU ${o.cpus?.proxy ?? '?'} too)` : ''}. HAProxy-jwt: ${machine.haproxy}, \`nbthread 1\`, \`jwt_verify\` RS256 + iss/aud/exp on every request (no cache).`;
  return [
    `# Portcullis bench ${x.date}, commit ${x.commit.short}${x.commit.dirty ? ' + uncommitted changes' : ''}`,
    '',
    `Machine: ${machine.nproc} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Linux ${machine.kernel}; Node ${machine.node}; wrk ${machine.wrk ?? '?'}; ${machine.haproxy}. Whole run: ${x.elapsed.toFixed(0)} s.`,
    '',
    pinning,
    `Rounds: ${o.rounds} of ${o.seconds} s per group (after a ${o.warmup} s warm-up of each target), targets in turn, the order reversed every other round and rotated every second one (each target in every place as often), the direct stub in every round as the host-speed reference; a round with more than ${o.maxOtherCores} cores of other load (the machine's busy time minus every process of the bench, from /proc) is dropped and replaced (at most ${Math.ceil(o.rounds / 2)} more). CPU µs/req: utime+stime of the target's process(es), all threads.`,
    gatewayWhat,
    '',
    '## Targets: gateway ÷ HAProxy-jwt, one core each, same run',
    '',
    '| target | measured: median of the per-round ratios [min–max] | goal | met |',
    '|---|---|---|---|',
    ...x.checks.map((c) => `| ${c.target} | ${c.measured} | ${c.goal} | ${c.met === null ? '—' : c.met ? 'yes' : '**no**'} |`),
    '',
    ...x.groups.flatMap(groupTables),
    ...equalTables(x.equal),
    ...(x.both === null ? [] : [...groupTables(x.both), 'Box CPU µs/req: every process of the test (proxy, stub, wrk, runner) ÷ requests: on both cores, what a proxy costs also shows in how often it makes wrk and the stub wake.', '']),
    ...(x.notes.length === 0 ? [] : ['## Notes', '', ...x.notes.map((n) => `* ${n}`), '']),
  ].join('\n');
}

function groupJson(g: GroupResult): unknown {
  return {
    id: g.id,
    scenario: g.scenario.id,
    targets: g.targets,
    settings: g.settings,
    rounds: g.rounds.map((r) => ({ ...r, figures: Object.fromEntries(r.figures) })),
    medians: Object.fromEntries(g.targets.map((t) => [t.name, { rps: figureStat(g, t.name, (x) => x.rps), cpuUs: figureStat(g, t.name, (x) => x.cpuUs), boxUs: figureStat(g, t.name, (x) => x.boxUs), p99Ms: figureStat(g, t.name, (x) => x.p99Ms) }])),
  };
}
