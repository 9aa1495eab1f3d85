// `npm run bench`: starts the stub upstream, then gateways as separate processes
// (`node bin/portcullis.js -c '<yaml>' --workers N`), and drives each scenario with wrk
// (64 keep-alive connections). Per scenario: req/s, p50/p99, CPU µs per request of the proxy
// process(es) from /proc (all threads), RSS, non-2xx, and the ratio to the stub reached directly
// in the same run. Prints one table; writes bench/results/<date>-<commit>.{md,json}.
//
//   node dist/bench/run.js [--seconds 2] [--attempts 2] [--soak 10] [--quick] [--only <regex>]
//                          [--no-reference] [--tokens N]
//   node dist/bench/run.js --profile      CPU profiles of the gateway under call / fresh-token / list load
//   node dist/bench/run.js --head-to-head 12   step 5 alone: one gateway process vs HAProxy-jwt, 12 rounds by turns
//
// Everything listens on loopback (the gateway's bind listens on all interfaces, the load comes
// from 127.0.0.1); every process started here is stopped at the end, on Ctrl+C and on errors.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addToKeyset, createKeyPair } from '../src/main/cli/keys.js';
import { signToken } from '../src/main/cli/token.js';
import { haproxyVersion, startHaproxy, startNginx, type CProxy } from './c-proxies.js';
import { AUDIENCE, BODIES, ISSUER, PROTOCOL_VERSION, gatewayConfig, signDistinctTokens } from './fixtures.js';
import { machineBusy, machineInfo, processCpuSeconds, rssBytes, systemCpu } from './proc.js';
import { childPids, forgetDescendant, installCleanup, startProcess, stopProcess, trackDescendant, waitForLine, waitUntil, type Started } from './processes.js';
import { formatSummary, parseProfile, summarize } from './profile-summary.js';
import { startTokenEndpoint } from './token-endpoint.js';
import { startOtlpSink } from './otlp-sink.js';
import { runWrk, wrkVersion, type LoadResult } from './wrk.js';

// ---------------------------------------------------------------------------------------------
// settings

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'portcullis.js');
const STUB = join(ROOT, 'dist', 'bench', 'stub-upstream.js');
const BARE = join(ROOT, 'dist', 'bench', 'bare-proxy.js');
const SOCKET_RELAY = join(ROOT, 'dist', 'bench', 'socket-relay.js');
const REFERENCE = join(ROOT, 'bench', 'reference', 'fastify-jose-proxy.mjs');
const RESULTS = join(ROOT, 'bench', 'results');

const CONNECTIONS = 64;
const THREADS = 2;

/** The issue's reference figures (issue 4, measured on the project's 2-core VM, not in this run). */
const ISSUE_REFS = {
  directRps: 219_000,
  nginx: { rps: 90_000, cpuUs: 11, p99: 1.3 },
  haproxyJwt: { rps: 24_000, cpuUs: 42, p99: 4.3 },
  fastifyJose: { rps: 7_900, cpuUs: 154, p99: 13.5 },
} as const;

interface Options {
  seconds: number;
  /** runs per row; the one with the highest req/s is reported (noise only ever slows a run down) */
  attempts: number;
  warmup: number;
  soakSeconds: number;
  tokens: number;
  only: RegExp | null;
  reference: boolean;
  profile: boolean;
  /** `--head-to-head N`: only step 5, with N rounds */
  headToHead: number | null;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { seconds: 2, attempts: 2, warmup: 1, soakSeconds: 10, tokens: 0, only: null, reference: true, profile: false, headToHead: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a ?? ''} needs a value`);
      return v;
    };
    if (a === '--seconds') o.seconds = Number(next());
    else if (a === '--attempts') o.attempts = Number(next());
    else if (a === '--soak') o.soakSeconds = Number(next());
    else if (a === '--quick') Object.assign(o, { seconds: 1, attempts: 1, warmup: 1, soakSeconds: 3 });
    else if (a === '--only') o.only = new RegExp(next());
    else if (a === '--no-reference') o.reference = false;
    else if (a === '--tokens') o.tokens = Number(next());
    else if (a === '--profile') o.profile = true;
    else if (a === '--head-to-head') o.headToHead = Number(next());
    else throw new Error(`unknown argument ${a ?? ''}`);
  }
  if (!(o.seconds >= 1 && o.seconds <= 30)) throw new Error('--seconds must be 1..30');
  if (!(o.soakSeconds >= 1 && o.soakSeconds <= 600)) throw new Error('--soak must be 1..600 seconds');
  if (!(Number.isInteger(o.attempts) && o.attempts >= 1 && o.attempts <= 5)) throw new Error('--attempts must be 1..5');
  if (o.headToHead !== null && !(Number.isInteger(o.headToHead) && o.headToHead >= 1 && o.headToHead <= 60)) throw new Error('--head-to-head must be 1..60 rounds');
  // Default: 25 % more distinct tokens than the gateway's verified-token cache holds (FIFO), so
  // with one wrk thread cycling through them in order, no token is still cached when it comes back.
  if (o.tokens === 0) o.tokens = Math.ceil((tokenCacheSize() ?? 16_000) * 1.25);
  if (!(o.tokens >= 1000 && o.tokens <= 100_000)) throw new Error('--tokens must be 1000..100000');
  return o;
}

// ---------------------------------------------------------------------------------------------
// scenarios

type AuthKind = 'token' | 'fresh' | 'none';

interface Scenario {
  readonly id: string;
  readonly method: 'call' | 'list';
  readonly tools: 20 | 200;
  readonly sse: boolean;
  readonly auth: AuthKind;
  readonly expectStatus: 200 | 401;
}

function scenario(id: string, method: 'call' | 'list', extra: Partial<Omit<Scenario, 'id' | 'method'>> = {}): Scenario {
  return { id, method, tools: 20, sse: false, auth: 'token', expectStatus: 200, ...extra };
}

const NO_CACHE_1 = 'jwt + 1 rule, list cache off';
const NO_CACHE_20 = 'jwt + 20 rules, list cache off';
const HAPROXY = 'HAProxy-jwt';
const HAPROXY_1 = 'HAProxy-jwt 1 thread';
const NGINX = 'nginx';
const EXCHANGE = 'jwt + token exchange';
const TRACING = 'jwt + tracing 100%';

const S = {
  call: scenario('tools/call', 'call'),
  callSse: scenario('tools/call SSE', 'call', { sse: true }),
  list20: scenario('tools/list 20', 'list'),
  list20Sse: scenario('tools/list 20 SSE', 'list', { sse: true }),
  list200: scenario('tools/list 200', 'list', { tools: 200 }),
  fresh: scenario('tools/call fresh token', 'call', { auth: 'fresh' }),
  // The gateway's target exchanges the caller's token (RFC 8693); one token, so every call after
  // the first is a cache hit: what a cached exchanged token adds to a call.
  callExchange: scenario('tools/call, token exchange (cached)', 'call'),
  // Every request traced (randomSampling: true): a server and a client span exported per call.
  callTraced: scenario('tools/call, tracing 100%', 'call'),
  freshList: scenario('tools/list 20 fresh token', 'list', { auth: 'fresh' }),
  noToken: scenario('401 no token', 'call', { auth: 'none', expectStatus: 401 }),
} as const;

/** The direct scenario whose req/s a scenario is compared with (same request, same answer). */
function directOf(s: Scenario): string {
  if (s.method === 'call') return s.sse ? S.callSse.id : S.call.id;
  if (s.tools === 200) return S.list200.id;
  return s.sse ? S.list20Sse.id : S.list20.id;
}

interface GatewaySpec {
  readonly label: string;
  readonly workers: number;
  /** 0: jwtAuth only (no mcpAuthorization); n: n rules, all evaluated for every item */
  readonly rules: number;
  /** false: `config.listCacheBytes: 0`, every list scanned and decided (the per-item cost) */
  readonly listCache?: boolean;
  /** the target exchanges the caller's token at the runner's token endpoint */
  readonly exchange?: boolean;
  /** every request traced, exported to the runner's OTLP sink */
  readonly tracing?: boolean;
  readonly processes: number;
}

// ---------------------------------------------------------------------------------------------
// results

interface Row {
  readonly scenario: string;
  readonly target: string;
  /** what the proxy does: "jwt", "jwt + 1 rule", "jwt + 20 rules", or "—" for the stub */
  readonly policy: string;
  readonly rps: number;
  readonly ratio: number | null;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU µs per request of the proxy process(es), all threads; of the stub for direct rows */
  readonly cpuUsPerReq: number;
  readonly stubCpuUsPerReq: number;
  readonly wrkCpuUsPerReq: number;
  /** max VmRSS during the run, MB (sum over processes) */
  readonly rssMB: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly socketErrors: number;
  /** CPU other processes used during the run, in cores (0..nproc) */
  readonly noiseCores: number;
  /** per-process share of the proxy CPU (several processes on one port) */
  readonly perProcessCpuShare: readonly number[];
  readonly check: string;
  /** every attempt: req/s, CPU µs/req, noise (the row shows the fastest) */
  readonly attempts: ReadonlyArray<{ readonly rps: number; readonly cpuUsPerReq: number; readonly noiseCores: number }>;
}

interface SoakResult {
  readonly target: string;
  readonly scenario: string;
  readonly seconds: number;
  readonly rps: number;
  readonly rssStartMB: number;
  readonly rssEndMB: number;
  readonly rssMaxMB: number;
  /** MB per 10 s over the second half of the run */
  readonly slopeMBper10s: number;
  readonly samplesMB: readonly number[];
}

interface GatewayMemory {
  readonly target: string;
  readonly idleMB: number;
  readonly afterMB: number;
}

const mb = (bytes: number): number => bytes / 2 ** 20;

// ---------------------------------------------------------------------------------------------
// environment

interface Env {
  readonly dir: string;
  readonly jwksFile: string;
  readonly token: string;
  readonly tokensFile: string;
  readonly firstFreshToken: string;
  readonly options: Options;
  readonly nproc: number;
  /** the CLI has --processes N */
  readonly processesFlag: boolean;
  stubPort: number;
  stubPid: number;
  /** the runner's token endpoint (bench/token-endpoint.ts), 0 until started */
  tokenEndpointPort: number;
  /** the runner's OTLP collector (bench/otlp-sink.ts), 0 until started */
  otlpSinkPort: number;
  /** fresh-token requests sent so far: the next run starts there in the token list */
  tokensUsed: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '::', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when `pid` holds a listening TCP socket on `port` (/proc/net/tcp{,6} + its fds). */
function listensOn(pid: number, port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && cols[1]?.endsWith(`:${hex}`) === true && cols[9] !== undefined) inodes.add(cols[9]);
    }
  }
  if (inodes.size === 0) return false;
  return socketInodes(pid).some((i) => inodes.has(i));
}

function socketInodes(pid: number): string[] {
  const out: string[] = [];
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m?.[1] !== undefined) out.push(m[1]);
    } catch {
      // fd closed meanwhile
    }
  }
  return out;
}

function headersFor(s: Scenario, token: string | null): Record<string, string> {
  const h: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': PROTOCOL_VERSION,
  };
  if (token !== null) h['Authorization'] = `Bearer ${token}`;
  if (s.sse) h['x-bench-sse'] = '1';
  if (s.tools === 200) h['x-bench-tools'] = '200';
  return h;
}

function bodyOf(s: Scenario): string {
  return s.method === 'call' ? BODIES.call : BODIES.list;
}

/** One request by fetch before the load: status and content as expected? */
async function check(url: string, s: Scenario, env: Env, rules: number | null): Promise<string> {
  const token = s.auth === 'none' ? null : s.auth === 'fresh' ? env.firstFreshToken : env.token;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: headersFor(s, token), body: bodyOf(s) });
  } catch (err) {
    return `FAIL: ${err instanceof Error ? err.message : String(err)}`;
  }
  const text = await res.text();
  if (res.status !== s.expectStatus) return `FAIL: status ${res.status}: ${text.slice(0, 200)}`;
  if (s.expectStatus !== 200) return 'ok';
  const type = res.headers.get('content-type') ?? '';
  if (s.sse !== type.startsWith('text/event-stream')) return `FAIL: content-type ${type}`;
  if (s.method === 'call') return text.includes('"hi"') ? 'ok' : `FAIL: body ${text.slice(0, 200)}`;
  const names = (text.match(/"name":"/g) ?? []).length;
  // rules (any number) keep echo + read_* = half; no rules (jwt only or direct) keep all
  const expected = rules === null || rules === 0 ? s.tools : s.tools / 2;
  return names === expected ? `ok (${names} of ${s.tools} tools)` : `FAIL: ${names} tools, expected ${expected}`;
}

/** Seconds the whole run may spend waiting for other people's load to calm down. */
let quietBudgetMs = 15_000;

async function waitQuiet(nproc: number): Promise<void> {
  // Other people's test runs share this machine: wait (bounded per row and per run) for a calmer moment.
  for (let i = 0; i < 8 && quietBudgetMs > 0; i++) {
    const busy = await machineBusy(250);
    if (busy * nproc < 0.3) return;
    quietBudgetMs -= 250;
  }
}

interface Measured {
  readonly load: LoadResult;
  readonly proxyCpu: number;
  readonly perProcess: readonly number[];
  readonly stubCpu: number;
  readonly noiseCores: number;
  readonly rssMaxMB: number;
  readonly rssSamplesMB: readonly number[];
  /** the measured run on the monotonic clock, µs (the clock V8's .cpuprofile uses) */
  readonly windowUs: readonly [number, number];
}

async function measure(url: string, s: Scenario, env: Env, pids: readonly number[], seconds: number, name: string, warmup = true): Promise<Measured> {
  const spec = {
    url,
    body: bodyOf(s),
    headers: headersFor(s, s.auth === 'token' ? env.token : null),
    connections: CONNECTIONS,
    // Fresh tokens: one wrk thread walks the whole list in order, so a token comes back only
    // after every other one has been used (two threads would interleave their shares unevenly).
    threads: s.auth === 'fresh' ? 1 : THREADS,
    seconds,
    ...(s.auth === 'fresh' ? { tokensFile: env.tokensFile } : {}),
  };
  if (warmup && env.options.warmup > 0) {
    const w = await runWrk({ ...spec, seconds: env.options.warmup, tokensStart: env.tokensUsed }, env.dir, `${name}-warmup`);
    if (s.auth === 'fresh') env.tokensUsed += w.requests + CONNECTIONS;
  }
  await waitQuiet(env.nproc);
  const cpu0 = pids.map((p) => processCpuSeconds(p) ?? 0);
  const stub0 = processCpuSeconds(env.stubPid) ?? 0;
  const sys0 = systemCpu();
  const self0 = process.cpuUsage();
  const samples: number[] = [];
  const sampler = setInterval(() => {
    let sum = 0;
    for (const p of pids) sum += rssBytes(p) ?? 0;
    samples.push(mb(sum));
  }, 250);
  let load: LoadResult;
  const t0 = Number(process.hrtime.bigint() / 1000n);
  try {
    load = await runWrk({ ...spec, tokensStart: env.tokensUsed }, env.dir, name);
  } finally {
    clearInterval(sampler);
  }
  // wrk's count leaves out requests still in flight at the end: skip a connection's worth more
  if (s.auth === 'fresh') env.tokensUsed += load.requests + CONNECTIONS;
  const cpu1 = pids.map((p) => processCpuSeconds(p) ?? 0);
  const perProcess = cpu1.map((c, i) => c - (cpu0[i] ?? 0));
  const proxyCpu = perProcess.reduce((a, b) => a + b, 0);
  const stubCpu = (processCpuSeconds(env.stubPid) ?? 0) - stub0;
  const sys1 = systemCpu();
  const self = process.cpuUsage(self0);
  const ours = (pids.includes(env.stubPid) ? proxyCpu : proxyCpu + stubCpu) + load.wrkCpu + (self.user + self.system) / 1e6;
  const wall = (sys1.total - sys0.total) / env.nproc;
  const noiseCores = wall > 0 ? Math.max(0, (sys1.busy - sys0.busy - ours) / wall) : 0;
  const t1 = Number(process.hrtime.bigint() / 1000n);
  return { load, proxyCpu, perProcess, stubCpu, noiseCores, rssMaxMB: samples.length === 0 ? 0 : Math.max(...samples), rssSamplesMB: samples, windowUs: [t0, t1] };
}

function toRow(m: Measured, s: Scenario, target: string, policy: string, direct: ReadonlyMap<string, number>, checkResult: string): Row {
  const req = Math.max(1, m.load.requests);
  const d = direct.get(directOf(s));
  const total = m.proxyCpu;
  return {
    scenario: s.id,
    target,
    policy,
    rps: m.load.rps,
    ratio: d === undefined || d === 0 ? null : m.load.rps / d,
    p50Ms: m.load.p50Ms,
    p99Ms: m.load.p99Ms,
    cpuUsPerReq: (total * 1e6) / req,
    stubCpuUsPerReq: (m.stubCpu * 1e6) / req,
    wrkCpuUsPerReq: (m.load.wrkCpu * 1e6) / req,
    rssMB: m.rssMaxMB,
    requests: m.load.requests,
    non2xx: m.load.non2xx,
    socketErrors: m.load.socketErrors,
    noiseCores: m.noiseCores,
    perProcessCpuShare: total > 0 ? m.perProcess.map((c) => c / total) : [],
    check: checkResult,
    attempts: [],
  };
}

// ---------------------------------------------------------------------------------------------
// processes under test

async function startStubProcess(): Promise<{ p: Started; port: number }> {
  const port = await freePort();
  const p = startProcess(process.execPath, [STUB, '--port', String(port), '--host', '127.0.0.1'], { captureStdout: true });
  await waitForLine(p, 'stub listening on', 10_000);
  return { p, port };
}

/** Does this build's CLI take `--processes N` (forked gateway processes on one port)? */
function cliHasProcessesFlag(): boolean {
  try {
    return execFileSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' }).includes('--processes');
  } catch {
    return false;
  }
}

interface RunningGateway {
  /** the processes this bench started (one primary with --processes N, or N independent ones) */
  readonly procs: Started[];
  /** every process serving requests (the primary's forked children included), for CPU and RSS */
  readonly pids: number[];
  readonly port: number;
  readonly how: string;
}

async function startGateways(env: Env, g: GatewaySpec, nodeArgs: readonly string[] = []): Promise<RunningGateway> {
  const port = await freePort();
  const exchange = g.exchange === true ? { exchangePort: env.tokenEndpointPort } : {};
  const tracing = g.tracing === true ? { tracingPort: env.otlpSinkPort } : {};
  const yaml = gatewayConfig({ port, stubPort: env.stubPort, jwksFile: env.jwksFile, rules: g.rules, listCache: g.listCache ?? true, ...exchange, ...tracing });
  const gwEnv = { ...process.env, ADMIN_ADDR: '', STATS_ADDR: '', READINESS_ADDR: '' };
  const args = [...nodeArgs, BIN, '-c', yaml, '--workers', String(g.workers)];
  if (g.processes > 1 && env.processesFlag) {
    // The CLI's own --processes N: a primary that forks N gateway processes.
    const primary = startProcess(process.execPath, [...args, '--processes', String(g.processes)], { cwd: env.dir, env: gwEnv });
    let children: number[] = [];
    await waitUntil(
      primary,
      () => {
        children = childPids(primary.pid);
        for (const c of children) trackDescendant(c);
        return Promise.resolve(children.length === g.processes && children.every((c) => listensOn(c, port)));
      },
      30_000,
      `gateway ${g.label} (--processes ${g.processes})`,
    );
    return { procs: [primary], pids: [primary.pid, ...children], port, how: `--processes ${g.processes}` };
  }
  const procs: Started[] = [];
  for (let i = 0; i < g.processes; i++) {
    const p = startProcess(process.execPath, args, { cwd: env.dir, env: gwEnv });
    procs.push(p);
    await waitUntil(p, () => Promise.resolve(listensOn(p.pid, port)), 20_000, `gateway ${g.label}#${i}`);
  }
  return { procs, pids: procs.map((p) => p.pid), port, how: g.processes > 1 ? `${g.processes} separate processes` : '1 process' };
}

async function stopGateways(gw: RunningGateway): Promise<void> {
  const t0 = performance.now();
  for (const p of gw.procs) await stopProcess(p);
  const ms = performance.now() - t0;
  if (ms > 2000) log(`gateway took ${(ms / 1000).toFixed(1)} s to stop after SIGTERM`);
  for (const pid of gw.pids) {
    // forked children exit with their primary; make sure, then forget them
    for (let i = 0; i < 40 && processCpuSeconds(pid) !== null; i++) await new Promise((r) => setTimeout(r, 50));
    if (processCpuSeconds(pid) !== null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    forgetDescendant(pid);
  }
}

async function startBareProxy(env: Env): Promise<{ p: Started; port: number }> {
  const port = await freePort();
  const p = startProcess(process.execPath, [BARE, '--port', String(port), '--upstream', `http://127.0.0.1:${env.stubPort}/mcp`], { captureStdout: true });
  await waitForLine(p, 'bare proxy listening on', 10_000);
  return { p, port };
}

async function startSocketRelay(env: Env): Promise<{ p: Started; port: number }> {
  const port = await freePort();
  const p = startProcess(process.execPath, [SOCKET_RELAY, '--port', String(port), '--upstream', `http://127.0.0.1:${env.stubPort}/mcp`], { captureStdout: true });
  await waitForLine(p, 'socket relay listening on', 10_000);
  return { p, port };
}

async function startReference(env: Env): Promise<{ p: Started; port: number } | string> {
  if (!existsSync(join(ROOT, 'bench', 'reference', 'node_modules', 'fastify'))) {
    return 'skipped: fastify not installed (npm --prefix bench/reference ci)';
  }
  const port = await freePort();
  const p = startProcess(
    process.execPath,
    [REFERENCE, String(port), `http://127.0.0.1:${env.stubPort}`, env.jwksFile, ISSUER, AUDIENCE],
    { captureStdout: true },
  );
  try {
    await waitForLine(p, 'reference listening on', 15_000);
  } catch (err) {
    await stopProcess(p, 2000);
    return `skipped: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}`;
  }
  return { p, port };
}

// ---------------------------------------------------------------------------------------------
// output

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function markdownTable(rows: readonly Row[]): string {
  const head = '| scenario | target | policy | req/s | × direct | p50 ms | p99 ms | proxy CPU µs/req | RSS MB | non-2xx | noise (cores) | all runs: req/s @ µs/req | check |';
  const sep = '|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|';
  const lines = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.target} | ${r.policy} | ${fmt(r.rps)} | ${r.ratio === null ? '—' : r.ratio.toFixed(3)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.cpuUsPerReq.toFixed(1)} | ${r.rssMB.toFixed(0)} | ${fmt(r.non2xx)}${r.socketErrors > 0 ? ` (+${r.socketErrors} socket)` : ''} | ${r.noiseCores.toFixed(2)}${r.noiseCores > 0.3 ? ' ⚠' : ''} | ${r.attempts.map((a) => `${fmt(a.rps)} @ ${a.cpuUsPerReq.toFixed(0)}`).join(', ')} | ${r.check} |`,
  );
  return [head, sep, ...lines].join('\n');
}

function consoleTable(rows: readonly Row[]): string {
  const cols = ['scenario', 'target', 'policy', 'req/s', 'x direct', 'p50 ms', 'p99 ms', 'CPU us/req', 'RSS MB', 'non-2xx', 'noise'];
  const data = rows.map((r) => [
    r.scenario,
    r.target,
    r.policy,
    fmt(r.rps),
    r.ratio === null ? '-' : r.ratio.toFixed(3),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.cpuUsPerReq.toFixed(1),
    r.rssMB.toFixed(0),
    String(r.non2xx + r.socketErrors),
    r.noiseCores.toFixed(2),
  ]);
  const width = cols.map((c, i) => Math.max(c.length, ...data.map((d) => (d[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i < 3 ? c.padEnd(width[i] ?? 0) : c.padStart(width[i] ?? 0))).join('  ');
  return [line(cols), width.map((w) => '-'.repeat(w)).join('  '), ...data.map(line)].join('\n');
}

interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly goal: string;
  readonly met: boolean | null;
}

/**
 * The issue's targets are ratios against references measured side by side in one run. HAProxy-jwt
 * is measured in this run when installed, and each goal is checked against its row for the same
 * scenario (the CPU goal, 25 µs where HAProxy-jwt took 42, as 25/42 of HAProxy's CPU per request
 * here). Without it, each goal is restated from the issue's figures against this run's direct
 * ones: HAProxy-jwt did 24k of 219k direct req/s (× 0.110), so "≥ 1.5× HAProxy" becomes
 * ≥ 0.164 × direct; p99 is scaled by the direct p99 (issue: 0.4 ms), CPU by the stub's CPU per
 * request (issue machine: ~4 µs). That estimate assumes HAProxy keeps its ratio to the stub from
 * machine to machine, which measuring it here showed it does not (bench/README.md).
 * fastify+jose, when measured in this run, is compared directly.
 */
function targetChecks(rows: readonly Row[], fastifyRps: number | null, h2h: readonly HeadToHead[]): TargetCheck[] {
  const find = (scenario: string, target: string, policy?: string): Row | undefined =>
    rows.find((r) => r.scenario === scenario && r.target === target && (policy === undefined || r.policy === policy));
  const directCall = find(S.call.id, 'direct (stub)');
  /** One gateway process is set against HAProxy on one thread, several against its default (a
   * thread per CPU); when that HAProxy did not run, the goal falls back to the estimate. */
  const refLabel = (target: string): string => (target.startsWith('2×') ? HAPROXY : HAPROXY_1);
  const haproxyRatio = ISSUE_REFS.haproxyJwt.rps / ISSUE_REFS.directRps;
  const cpuFactor = directCall === undefined ? 1 : directCall.cpuUsPerReq / 4;
  const p99Factor = directCall === undefined ? 1 : directCall.p99Ms / 0.4;
  const out: TargetCheck[] = [];
  const ratioGoal = (label: string, row: Row | undefined, times: number, haproxyScenario: string): void => {
    if (row === undefined || row.ratio === null) return;
    const ref = find(haproxyScenario, refLabel(row.target));
    if (ref !== undefined) {
      const need = times * ref.rps;
      out.push({
        target: `${row.target}: ${label} ≥ ${times}× HAProxy-jwt`,
        measured: `${fmt(row.rps)} req/s = ${(row.rps / ref.rps).toFixed(2)}× ${ref.target}`,
        goal: `≥ ${fmt(need)} req/s (${ref.target} in this run: ${fmt(ref.rps)})`,
        met: row.rps >= need,
      });
      return;
    }
    const need = times * haproxyRatio;
    out.push({
      target: `${row.target}: ${label} ≥ ${times}× HAProxy-jwt`,
      measured: `${fmt(row.rps)} req/s = ${row.ratio.toFixed(3)} × direct`,
      goal: `≥ ${need.toFixed(3)} × direct (estimate from the issue's figures: ≥ ${fmt(times * ISSUE_REFS.haproxyJwt.rps)} req/s there)`,
      met: row.ratio >= need,
    });
  };
  // One gateway process against HAProxy-jwt on one thread, measured by turns: the goals for
  // `pool w1` are judged on those medians, not on rows measured minutes apart.
  const byTurns = (scenario: string): HeadToHead | undefined => h2h.find((h) => h.scenario === scenario);
  const turnsNote = (h: HeadToHead, f: (x: RoundFigures) => number, unit: string): string =>
    `median of ${h.rounds.length} rounds by turns (gateway vs ${HAPROXY_1}: ${h.rounds.map((x) => `${fmt(f(x.gateway), unit === 'ms' ? 2 : 0)} vs ${fmt(f(x.haproxy), unit === 'ms' ? 2 : 0)}`).join(', ')} ${unit})`;
  const call1 = byTurns(S.call.id);
  if (call1 !== undefined) {
    out.push({ target: 'pool w1, by turns: tools/call ≥ 1.5× HAProxy-jwt', measured: `${call1.rps.toFixed(2)}×, ${turnsNote(call1, (x) => x.rps, 'req/s')}`, goal: '≥ 1.5×', met: call1.rps >= 1.5 });
    out.push({ target: 'pool w1, by turns: tools/call p99 ≤ HAProxy-jwt', measured: `${call1.p99.toFixed(2)}×, ${turnsNote(call1, (x) => x.p99Ms, 'ms')}`, goal: '≤ 1×', met: call1.p99 <= 1 });
    const cpuGoal = 25 / ISSUE_REFS.haproxyJwt.cpuUs;
    out.push({ target: 'pool w1, by turns: tools/call CPU ≤ 25 µs/req', measured: `${call1.cpu.toFixed(2)}× HAProxy's, ${turnsNote(call1, (x) => x.cpuUsPerReq, 'µs')}`, goal: `≤ ${cpuGoal.toFixed(2)}× HAProxy-jwt's (25/42, as in the issue)`, met: call1.cpu <= cpuGoal });
  }
  const list1 = byTurns(S.list20.id);
  if (list1 !== undefined) {
    out.push({ target: `pool w1, by turns: tools/list 20, CEL per item (${list1.policy}) ≥ 1.2× HAProxy-jwt`, measured: `${list1.rps.toFixed(2)}×, ${turnsNote(list1, (x) => x.rps, 'req/s')}`, goal: '≥ 1.2×', met: list1.rps >= 1.2 });
  }
  const fresh1 = byTurns(S.fresh.id);
  if (fresh1 !== undefined) {
    out.push({ target: 'pool w1, by turns: fresh token per request ≥ 0.8× HAProxy-jwt', measured: `${fresh1.rps.toFixed(2)}×, ${turnsNote(fresh1, (x) => x.rps, 'req/s')}`, goal: '≥ 0.8×', met: fresh1.rps >= 0.8 });
  }
  for (const target of ['pool w1', 'inline w0', '2× inline w0']) {
    const call = find(S.call.id, target, 'jwt');
    ratioGoal('tools/call', call, 1.5, S.call.id);
    if (call !== undefined) {
      const fz = fastifyRps ?? ISSUE_REFS.fastifyJose.rps;
      out.push({ target: `${target}: tools/call ≥ 4× fastify+jose`, measured: `${fmt(call.rps)} req/s = ${(call.rps / fz).toFixed(2)}×`, goal: `≥ ${fmt(4 * fz)} req/s (${fastifyRps === null ? "issue's figure" : 'fastify+jose measured in this run'})`, met: call.rps >= 4 * fz });
      const haproxyCall = find(S.call.id, refLabel(target));
      if (haproxyCall !== undefined) {
        out.push({ target: `${target}: tools/call p99 ≤ HAProxy-jwt`, measured: `${call.p99Ms.toFixed(2)} ms`, goal: `≤ ${haproxyCall.p99Ms.toFixed(2)} ms (${haproxyCall.target} in this run)`, met: call.p99Ms <= haproxyCall.p99Ms });
        const cpu = (25 / ISSUE_REFS.haproxyJwt.cpuUs) * haproxyCall.cpuUsPerReq;
        out.push({ target: `${target}: tools/call CPU ≤ 25 µs/req`, measured: `${call.cpuUsPerReq.toFixed(1)} µs`, goal: `≤ ${cpu.toFixed(0)} µs here (25/42 of ${haproxyCall.target}'s ${haproxyCall.cpuUsPerReq.toFixed(1)} µs in this run, as in the issue)`, met: call.cpuUsPerReq <= cpu });
      } else {
        const p99 = ISSUE_REFS.haproxyJwt.p99 * p99Factor;
        out.push({ target: `${target}: tools/call p99 ≤ HAProxy-jwt`, measured: `${call.p99Ms.toFixed(2)} ms`, goal: `≤ ${p99.toFixed(1)} ms (estimate: issue ${ISSUE_REFS.haproxyJwt.p99} ms at 0.4 ms direct p99, scaled by this run's direct p99)`, met: call.p99Ms <= p99 });
        const cpu = 25 * cpuFactor;
        out.push({ target: `${target}: tools/call CPU ≤ 25 µs/req`, measured: `${call.cpuUsPerReq.toFixed(1)} µs`, goal: `≤ ${cpu.toFixed(0)} µs (estimate: 25 µs × stub CPU ${directCall?.cpuUsPerReq.toFixed(1) ?? '?'} µs / ~4 µs on the issue's machine)`, met: call.cpuUsPerReq <= cpu });
      }
    }
    ratioGoal('tools/list 20, CEL per item (the same list again: list cache)', find(S.list20.id, target, 'jwt + 1 rule'), 1.2, S.list20.id);
    ratioGoal('tools/list 20, CEL per item (every list scanned: list cache off)', find(S.list20.id, target, NO_CACHE_1), 1.2, S.list20.id);
    ratioGoal('fresh token per request', find(S.fresh.id, target, 'jwt'), 0.8, S.fresh.id);
  }
  return out;
}

/** The issue's cost goal: a cached exchanged token adds at most a few µs (5) of CPU to a call,
 * against the same gateway's plain tools/call row of this run. */
const EXCHANGE_CPU_GOAL_US = 5;

function exchangeChecks(rows: readonly Row[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const row of rows.filter((r) => r.scenario === S.callExchange.id)) {
    const plain = rows.find((r) => r.scenario === S.call.id && r.target === row.target && r.policy === 'jwt');
    if (plain === undefined) continue;
    const extra = row.cpuUsPerReq - plain.cpuUsPerReq;
    out.push({
      target: `${row.target}: tools/call, token exchange (cached) ≤ ${EXCHANGE_CPU_GOAL_US} µs more than tools/call`,
      measured: `${extra >= 0 ? '+' : ''}${extra.toFixed(1)} µs/req (${row.cpuUsPerReq.toFixed(1)} vs ${plain.cpuUsPerReq.toFixed(1)}), req/s ${(row.rps / Math.max(1, plain.rps)).toFixed(2)}× (${fmt(row.rps)} vs ${fmt(plain.rps)})`,
      goal: `≤ +${EXCHANGE_CPU_GOAL_US} µs CPU per request`,
      met: extra <= EXCHANGE_CPU_GOAL_US,
    });
  }
  return out;
}

function commitInfo(): { short: string; full: string; dirty: boolean } {
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const full = git('rev-parse', 'HEAD') || 'unknown';
  const dirty = git('status', '--porcelain', '--', 'src', 'bin', 'package.json') !== '';
  return { short: full.slice(0, 7), full, dirty };
}

// ---------------------------------------------------------------------------------------------
// main

async function setup(options: Options): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
  // keys, tokens and Lua scripts go with the run, however it ends
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const { privateJwk, publicJwk } = await createKeyPair({ alg: 'RS256' });
  const jwksFile = join(dir, 'jwks.json');
  await addToKeyset(jwksFile, publicJwk);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const common = { privateJwk, iss: ISSUER, aud: AUDIENCE, sub: 'bench', exp };
  const token = await signToken({ ...common, claims: { roles: ['bench'] } });
  const t0 = performance.now();
  const tokens = await signDistinctTokens((claims) => signToken({ ...common, claims }), options.tokens);
  if (new Set(tokens).size !== tokens.length) throw new Error('signed tokens are not distinct');
  const tokensFile = join(dir, 'tokens.txt');
  writeFileSync(tokensFile, `${tokens.join('\n')}\n`);
  log(`signed ${tokens.length} distinct RS256 tokens in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return {
    dir,
    jwksFile,
    token,
    tokensFile,
    firstFreshToken: tokens[0] ?? token,
    options,
    nproc: machineInfo(null).nproc,
    processesFlag: cliHasProcessesFlag(),
    stubPort: 0,
    stubPid: 0,
    tokenEndpointPort: 0,
    otlpSinkPort: 0,
    tokensUsed: 1, // token 0 is the one check() sends
  };
}

/** The gateway's verified-token cache size, read from the built source, to prove fresh tokens cannot hit. */
function tokenCacheSize(): number | null {
  try {
    const text = readFileSync(join(ROOT, 'dist', 'src', 'main', 'policy', 'jwt-auth.js'), 'utf8');
    const m = /new VerifiedTokenCache\((\d[\d_]*)[,)]/.exec(text);
    return m?.[1] === undefined ? null : Number(m[1].replace(/_/g, ''));
  } catch {
    return null;
  }
}

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** One side's figures in one round of a head-to-head. */
interface RoundFigures {
  readonly rps: number;
  readonly cpuUsPerReq: number;
  readonly p99Ms: number;
}

/** A scenario measured on one gateway process and on HAProxy-jwt (one thread) by turns. */
interface HeadToHead {
  readonly scenario: string;
  readonly policy: string;
  readonly check: string;
  readonly rounds: ReadonlyArray<{ readonly gateway: RoundFigures; readonly haproxy: RoundFigures }>;
  /** medians of the per-round ratios, gateway ÷ HAProxy */
  readonly rps: number;
  readonly cpu: number;
  readonly p99: number;
}

/** rounds of step 5 in a full run (`--head-to-head N` runs it alone with N) */
const H2H_ROUNDS = 3;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function figures(m: Measured): RoundFigures {
  return { rps: m.load.rps, cpuUsPerReq: (m.proxyCpu * 1e6) / Math.max(1, m.load.requests), p99Ms: m.load.p99Ms };
}

/**
 * The gateway and HAProxy measured by turns, several short rounds each (ABBA order), and the
 * goal judged on the median of the per-round ratios. This host's speed drifts by up to 2× within
 * a minute (other tenants): rows measured minutes apart compare two machine states, while two
 * runs a second apart see nearly the same one.
 */
async function headToHead(
  env: Env,
  gateway: { readonly pids: readonly number[]; readonly url: string; readonly rules: number },
  haproxy: { readonly pids: readonly number[]; readonly url: string },
  s: Scenario,
  policy: string,
): Promise<HeadToHead> {
  const checked = await check(gateway.url, s, env, gateway.rules);
  const seconds = Math.max(1, env.options.seconds / 2);
  // warm both (JIT, connection pools) once; the rounds then run without warm-up
  await measure(gateway.url, s, env, gateway.pids, env.options.warmup, 'h2h-warm-gateway', false);
  await measure(haproxy.url, s, env, haproxy.pids, env.options.warmup, 'h2h-warm-haproxy', false);
  const rounds: Array<{ gateway: RoundFigures; haproxy: RoundFigures }> = [];
  for (let r = 0; r < (env.options.headToHead ?? H2H_ROUNDS); r++) {
    const gatewayFirst = r % 2 === 0;
    const first = gatewayFirst ? gateway : haproxy;
    const second = gatewayFirst ? haproxy : gateway;
    const a = figures(await measure(first.url, s, env, first.pids, seconds, `h2h-${r}-a`, false));
    const b = figures(await measure(second.url, s, env, second.pids, seconds, `h2h-${r}-b`, false));
    rounds.push(gatewayFirst ? { gateway: a, haproxy: b } : { gateway: b, haproxy: a });
  }
  const ratio = (f: (x: RoundFigures) => number): number => median(rounds.map((x) => f(x.gateway) / Math.max(1e-9, f(x.haproxy))));
  const h: HeadToHead = { scenario: s.id, policy, check: checked, rounds, rps: ratio((x) => x.rps), cpu: ratio((x) => x.cpuUsPerReq), p99: ratio((x) => x.p99Ms) };
  log(`head-to-head   ${s.id.padEnd(26)} req/s ${h.rps.toFixed(2)}×  CPU ${h.cpu.toFixed(2)}×  p99 ${h.p99.toFixed(2)}×  (${rounds.map((x) => `${fmt(x.gateway.rps)} vs ${fmt(x.haproxy.rps)}`).join(', ')})`);
  return h;
}

/** Step 5: a pool w1 gateway against HAProxy-jwt on one thread, by turns, on tools/call, fresh
 * tokens and tools/list 20 with a rule. */
async function headToHeads(env: Env): Promise<HeadToHead[]> {
  const out: HeadToHead[] = [];
  const proxy = await startHaproxy({ dir: env.dir, port: await freePort(), stubPort: env.stubPort, jwksFile: env.jwksFile, threads: 1 });
  const haproxy = { pids: proxy.pids, url: `http://127.0.0.1:${proxy.port}/mcp` };
  try {
    for (const [rules, policy, scenarios] of [[0, 'jwt', [S.call, S.fresh]], [1, 'jwt + 1 rule', [S.list20]]] as const) {
      const gw = await startGateways(env, { label: 'pool w1', workers: 1, rules, processes: 1 });
      try {
        for (const s of scenarios) out.push(await headToHead(env, { pids: gw.pids, url: `http://127.0.0.1:${gw.port}/mcp`, rules }, haproxy, s, policy));
      } finally {
        await stopGateways(gw);
      }
    }
  } finally {
    await stopGateways({ procs: [proxy.p], pids: proxy.pids, port: proxy.port, how: HAPROXY_1 });
  }
  return out;
}

/** `--head-to-head N`: step 5 alone, with N rounds: is one gateway process level with HAProxy
 * right now? Prints the medians; writes nothing. */
async function headToHeadOnly(options: Options): Promise<void> {
  if (haproxyVersion() === null) throw new Error('HAProxy is not installed (apt-get install haproxy); --head-to-head needs it');
  const env = await setup(options);
  const stub = await startStubProcess();
  env.stubPort = stub.port;
  env.stubPid = stub.p.pid;
  try {
    for (const h of await headToHeads(env)) {
      process.stdout.write(`${h.scenario} (${h.policy}): gateway/HAProxy-jwt req/s ${h.rps.toFixed(2)}x, CPU per request ${h.cpu.toFixed(2)}x, p99 ${h.p99.toFixed(2)}x over ${h.rounds.length} rounds\n`);
    }
  } finally {
    await stopProcess(stub.p);
    rmSync(env.dir, { recursive: true, force: true });
  }
}

async function runScenarios(env: Env, gateway: { label: string; policy: string; pids: number[]; url: string; rules: number | null }, scenarios: readonly Scenario[], direct: Map<string, number>, rows: Row[]): Promise<void> {
  for (const s of scenarios) {
    if (env.options.only !== null && !env.options.only.test(`${gateway.label} ${s.id}`)) continue;
    const checked = await check(gateway.url, s, env, gateway.rules);
    const tries: Measured[] = [];
    for (let a = 0; a < env.options.attempts; a++) {
      tries.push(await measure(gateway.url, s, env, gateway.pids, env.options.seconds, `${gateway.label}-${s.id}`, a === 0));
    }
    const m = tries.reduce((x, y) => (y.load.rps > x.load.rps ? y : x));
    const row = {
      ...toRow(m, s, gateway.label, gateway.policy, direct, checked),
      attempts: tries.map((t) => ({ rps: t.load.rps, cpuUsPerReq: (t.proxyCpu * 1e6) / Math.max(1, t.load.requests), noiseCores: t.noiseCores })),
    };
    if (gateway.label === 'direct (stub)') direct.set(s.id, row.rps);
    const final = gateway.label === 'direct (stub)' ? { ...row, ratio: 1 } : row;
    rows.push(final);
    const bad = (s.expectStatus === 200 && (row.non2xx > 0 || row.socketErrors > 0)) || !checked.startsWith('ok');
    log(`${gateway.label.padEnd(14)} ${s.id.padEnd(26)} ${fmt(row.rps).padStart(8)} req/s  p99 ${row.p99Ms.toFixed(2)} ms  ${row.cpuUsPerReq.toFixed(1)} µs/req  noise ${row.noiseCores.toFixed(2)}${bad ? `  !! non-2xx=${row.non2xx} socket=${row.socketErrors} check=${checked}` : ''}`);
  }
}

async function soak(env: Env, label: string, pids: number[], url: string, rows: SoakResult[]): Promise<void> {
  const s = S.freshList;
  if (env.options.only !== null && !env.options.only.test(`${label} soak`)) return;
  const m = await measure(url, s, env, pids, env.options.soakSeconds, `${label}-soak`);
  const samples = m.rssSamplesMB;
  const half = samples.slice(Math.floor(samples.length / 2));
  const slope = half.length < 2 ? 0 : (((half[half.length - 1] ?? 0) - (half[0] ?? 0)) / (half.length * 0.25)) * 10;
  rows.push({
    target: label,
    scenario: `${s.id} (sustained)`,
    seconds: env.options.soakSeconds,
    rps: m.load.rps,
    rssStartMB: samples[0] ?? 0,
    rssEndMB: samples[samples.length - 1] ?? 0,
    rssMaxMB: m.rssMaxMB,
    slopeMBper10s: slope,
    samplesMB: samples.filter((_, i) => i % 4 === 0),
  });
  log(`${label} soak: ${fmt(m.load.rps)} req/s, RSS ${samples[0]?.toFixed(0)} → ${samples[samples.length - 1]?.toFixed(0)} MB (max ${m.rssMaxMB.toFixed(0)})`);
}

async function benchmark(options: Options): Promise<void> {
  const started = performance.now();
  const wrk = wrkVersion();
  if (wrk === null) throw new Error('wrk is not installed (apt-get install wrk); the bench needs it');
  const machine = machineInfo(wrk);
  const commit = commitInfo();
  log(`machine: ${machine.nproc} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, node ${machine.node}, wrk ${wrk}; commit ${commit.short}${commit.dirty ? ' (+ uncommitted changes in src/bin)' : ''}`);
  const env = await setup(options);
  const cacheSize = tokenCacheSize();
  if (cacheSize !== null && cacheSize * 1.1 > options.tokens) log(`WARNING: ${options.tokens} tokens vs a ${cacheSize}-entry token cache: fresh-token runs may hit`);

  const rows: Row[] = [];
  const soaks: SoakResult[] = [];
  const memory: GatewayMemory[] = [];
  const notes: string[] = [];
  const direct = new Map<string, number>();
  const h2h: HeadToHead[] = [];

  const stub = await startStubProcess();
  env.stubPort = stub.port;
  env.stubPid = stub.p.pid;
  const tokenEndpoint = await startTokenEndpoint();
  env.tokenEndpointPort = tokenEndpoint.port;
  const otlpSink = await startOtlpSink();
  env.otlpSinkPort = otlpSink.port;
  try {
    const stubUrl = `http://127.0.0.1:${stub.port}/mcp`;
    await runScenarios(env, { label: 'direct (stub)', policy: '—', pids: [stub.p.pid], url: stubUrl, rules: null }, [S.call, S.callSse, S.list20, S.list20Sse, S.list200], direct, rows);

    // The architecture's floor: uWS + undici relaying bytes, nothing else.
    const bare = await startBareProxy(env);
    try {
      await runScenarios(env, { label: 'bare uWS+undici', policy: 'none', pids: [bare.p.pid], url: `http://127.0.0.1:${bare.port}/mcp`, rules: null }, [S.call, S.list20], direct, rows);
    } finally {
      await stopProcess(bare.p);
    }
    // The same front with a minimal net.Socket client instead of undici: what undici costs here.
    const socketRelay = await startSocketRelay(env);
    try {
      await runScenarios(env, { label: 'socket relay', policy: 'none, no undici', pids: [socketRelay.p.pid], url: `http://127.0.0.1:${socketRelay.port}/mcp`, rules: null }, [S.call], direct, rows);
    } finally {
      await stopProcess(socketRelay.p);
    }

    const modes: ReadonlyArray<readonly [string, number]> = [['pool w1', 1], ['inline w0', 0]];
    for (const [label, workers] of modes) {
      const specs: ReadonlyArray<{ g: GatewaySpec; policy: string; scenarios: readonly Scenario[]; soak: boolean }> = [
        // 401s and unfiltered SSE answers never touch the pool: measured once, inline.
        { g: { label, workers, rules: 0, processes: 1 }, policy: 'jwt', scenarios: workers === 0 ? [S.call, S.fresh, S.noToken] : [S.call, S.fresh], soak: false },
        // Beside plain tools/call: the same call with the target's token exchange, served from its cache.
        { g: { label, workers, rules: 0, processes: 1, exchange: true }, policy: EXCHANGE, scenarios: [S.callExchange], soak: false },
        // And with every request traced and exported: what tracing at 100 % costs a call.
        { g: { label, workers, rules: 0, processes: 1, tracing: true }, policy: TRACING, scenarios: [S.callTraced], soak: false },
        { g: { label, workers, rules: 1, processes: 1 }, policy: 'jwt + 1 rule', scenarios: workers === 0 ? [S.call, S.callSse, S.list20, S.list20Sse, S.list200] : [S.list20, S.list200], soak: true },
        // The list cache off: every list scanned and every item decided, as a first list is.
        { g: { label, workers, rules: 1, processes: 1, listCache: false }, policy: NO_CACHE_1, scenarios: [S.list20, S.list200], soak: false },
        // 1 → 20 rules, the per-item cost: measured inline (the pool runs the same engine).
        ...(workers === 0 ? [{ g: { label, workers, rules: 20, processes: 1, listCache: false }, policy: NO_CACHE_20, scenarios: [S.list20, S.list200], soak: false }] : []),
      ];
      for (const spec of specs) {
        const gw = await startGateways(env, spec.g);
        const pids = gw.pids;
        const idle = mb(pids.reduce((a, p) => a + (rssBytes(p) ?? 0), 0));
        try {
          const url = `http://127.0.0.1:${gw.port}/mcp`;
          await runScenarios(env, { label, policy: spec.policy, pids, url, rules: spec.g.rules }, spec.scenarios, direct, rows);
          if (spec.soak) await soak(env, label, pids, url, soaks);
          memory.push({ target: `${label}, ${spec.policy}`, idleMB: idle, afterMB: mb(pids.reduce((a, p) => a + (rssBytes(p) ?? 0), 0)) });
        } finally {
          await stopGateways(gw);
        }
      }
    }

    // Several processes on one port (uWS listens with SO_REUSEPORT): the CLI's --processes N
    // when it has it, else N separately started gateways.
    // HAProxy uses every core by default (one thread per CPU; nginx with `worker_processes auto`): these rows are
    // the like-for-like comparison with them on this machine. RS256 tokens never go to the pool's
    // workers, so fresh tokens are measured once, inline.
    const several: ReadonlyArray<{ g: GatewaySpec; policy: string; scenarios: readonly Scenario[] }> = [
      { g: { label: '2× inline w0', workers: 0, rules: 0, processes: 2 }, policy: 'jwt', scenarios: [S.call, S.fresh] },
      { g: { label: '2× inline w0', workers: 0, rules: 1, processes: 2 }, policy: 'jwt + 1 rule', scenarios: [S.list20] },
    ];
    for (const spec of several) {
      if (env.options.only !== null && !spec.scenarios.some((s) => env.options.only?.test(`${spec.g.label} ${s.id}`))) continue;
      const gw = await startGateways(env, spec.g);
      const note = `${spec.g.label}: ${gw.how}; CPU and RSS summed over ${gw.pids.length} processes`;
      if (!notes.includes(note)) notes.push(note);
      try {
        await runScenarios(env, { label: spec.g.label, policy: spec.policy, pids: gw.pids, url: `http://127.0.0.1:${gw.port}/mcp`, rules: spec.g.rules }, spec.scenarios, direct, rows);
      } finally {
        await stopGateways(gw);
      }
    }

    if (options.reference) {
      const ref = await startReference(env);
      if (typeof ref === 'string') notes.push(`fastify + @fastify/reply-from + jose reference ${ref}`);
      else {
        try {
          await runScenarios(env, { label: 'fastify+jose', policy: 'jwt', pids: [ref.p.pid], url: `http://127.0.0.1:${ref.port}/mcp`, rules: 0 }, [S.call], direct, rows);
        } finally {
          await stopProcess(ref.p);
        }
      }
    }
    // The issue's C references, driven by this run when installed.
    const cProxies: ReadonlyArray<{ label: string; policy: string; scenarios: readonly Scenario[]; start: () => Promise<CProxy> }> = [
      // one thread against one gateway process, the default (a thread per CPU) against --processes 2
      { label: HAPROXY_1, policy: 'jwt', scenarios: [S.call, S.fresh, S.list20], start: async () => startHaproxy({ dir: env.dir, port: await freePort(), stubPort: env.stubPort, jwksFile: env.jwksFile, threads: 1 }) },
      { label: HAPROXY, policy: 'jwt', scenarios: [S.call, S.fresh, S.list20, S.noToken], start: async () => startHaproxy({ dir: env.dir, port: await freePort(), stubPort: env.stubPort, jwksFile: env.jwksFile }) },
      { label: NGINX, policy: 'none', scenarios: [S.call], start: async () => startNginx({ dir: env.dir, port: await freePort(), stubPort: env.stubPort }) },
    ];
    for (const c of cProxies) {
      if (env.options.only !== null && !c.scenarios.some((s) => env.options.only?.test(`${c.label} ${s.id}`))) continue;
      let proxy: CProxy;
      try {
        proxy = await c.start();
      } catch (err) {
        const fallback = c.label === NGINX ? '' : ` the goals set against it are estimates from the issue's figures instead (${c.label === HAPROXY_1 ? 'one gateway process' : '`--processes 2`'}).`;
        notes.push(`${c.label}: not measured (${err instanceof Error ? err.message.slice(0, 200) : String(err)}; apt-get install haproxy nginx);${fallback}`);
        continue;
      }
      const how = c.label === NGINX ? 'worker_processes auto, no auth' : `${c.label === HAPROXY_1 ? 'nbthread 1' : 'default threads (one per CPU)'}, jwt_verify RS256 + iss/aud/exp on every request (no cache)`;
      notes.push(`${c.label}: ${proxy.version}, ${how}, keep-alive to the stub, no access log; CPU summed over ${proxy.pids.length} process(es).`);
      try {
        await runScenarios(env, { label: c.label, policy: c.policy, pids: proxy.pids, url: `http://127.0.0.1:${proxy.port}/mcp`, rules: 0 }, c.scenarios, direct, rows);
      } finally {
        await stopGateways({ procs: [proxy.p], pids: proxy.pids, port: proxy.port, how: c.label });
      }
    }

    // The goals for one process, judged by turns against HAProxy-jwt on one thread.
    if (haproxyVersion() !== null && env.options.only === null) h2h.push(...(await headToHeads(env)));
  } finally {
    await stopProcess(stub.p);
    await tokenEndpoint.close();
    await otlpSink.close();
  }
  for (const row of rows.filter((r) => r.scenario === S.callTraced.id)) {
    const plain = rows.find((r) => r.scenario === S.call.id && r.target === row.target && r.policy === 'jwt');
    if (plain === undefined) continue;
    const extra = row.cpuUsPerReq - plain.cpuUsPerReq;
    notes.push(`${row.target}: ${S.callTraced.id} costs ${extra >= 0 ? '+' : ''}${extra.toFixed(1)} µs CPU per request (${row.cpuUsPerReq.toFixed(1)} vs ${plain.cpuUsPerReq.toFixed(1)}) and runs at ${(row.rps / Math.max(1, plain.rps)).toFixed(2)}× the req/s of plain tools/call (a server and a client span per call, batched and exported as OTLP protobuf over HTTP to a sink in the runner's process).`);
  }
  if (otlpSink.exports > 0) notes.push(`${S.callTraced.id}: the OTLP sink took ${fmt(otlpSink.exports)} export(s), ${(otlpSink.bytes / 2 ** 20).toFixed(1)} MiB in all.`);
  if (rows.some((r) => r.scenario === S.callExchange.id)) notes.push(`${S.callExchange.id}: the target exchanges the caller's token (RFC 8693) at a token endpoint in the runner's process, which answered ${tokenEndpoint.calls} exchange(s) in all (one per gateway, at its first call); every other call was served from the gateway's exchanged-token cache.`);

  const elapsed = (performance.now() - started) / 1000;
  const fastify = rows.find((r) => r.target === 'fastify+jose' && r.scenario === S.call.id);
  const checks = [...targetChecks(rows, fastify?.rps ?? null, h2h), ...exchangeChecks(rows)];
  const failedChecks = rows.filter((r) => !r.check.startsWith('ok') || (r.scenario !== S.noToken.id && r.non2xx + r.socketErrors > 0));
  if (failedChecks.length > 0) notes.push(`rows with a failed check or non-2xx answers: ${failedChecks.map((r) => `${r.target} ${r.scenario}`).join('; ')}`);
  if (cacheSize !== null) notes.push(`fresh-token runs: one wrk thread (64 connections) walks ${fmt(options.tokens)} distinct pre-signed tokens in order, each run continuing where the previous one stopped; the gateway's verified-token cache holds at most ${fmt(cacheSize)} (tokens unused for longest dropped first), so no token is still cached when it comes round again.`);
  const maxNoise = Math.max(0, ...rows.map((r) => r.noiseCores));
  notes.push(`noise: other processes used up to ${maxNoise.toFixed(2)} cores during a reported run (column "noise"; ⚠ above 0.3 cores: read that row, and ratios against it, with care); req/s and latency move with it, CPU µs/req less so.`);

  const date = new Date().toISOString().slice(0, 10);
  const stem = `${date}-${commit.short}${commit.dirty ? '-dirty' : ''}`;
  const settings = { connections: CONNECTIONS, wrkThreads: THREADS, seconds: options.seconds, warmupSeconds: options.warmup, soakSeconds: options.soakSeconds, tokens: options.tokens };
  const result = { date: new Date().toISOString(), commit, machine, settings, elapsedSeconds: elapsed, issueReferences: ISSUE_REFS, rows, headToHead: h2h, targets: checks, soak: soaks, memory, notes };

  const md = [
    `# Portcullis bench ${date}, commit ${commit.short}${commit.dirty ? ' + uncommitted changes' : ''}`,
    '',
    `Machine: ${machine.nproc} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Linux ${machine.kernel}; Node ${machine.node}; wrk ${machine.wrk}.`,
    `Load: wrk, ${CONNECTIONS} keep-alive connections, ${THREADS} threads (1 for fresh tokens), ${options.warmup} s warm-up, then ${options.attempts} run(s) of ${options.seconds} s per row, the fastest reported (all runs in the last column); RS256 token. Whole run: ${elapsed.toFixed(0)} s.`,
    '',
    '"× direct" is req/s against the stub reached directly with the same request in this run. "proxy CPU µs/req" is utime+stime of the proxy',
    'process(es), all threads, over the run ÷ requests (for direct rows: the stub\'s). "noise" is CPU other processes used meanwhile, in cores.',
    '',
    markdownTable(rows),
    '',
    ...(h2h.length === 0
      ? []
      : [
          `## Head to head: one gateway process (pool w1) against ${HAPROXY_1}, by turns`,
          '',
          `Both running side by side, measured alternately in ${H2H_ROUNDS} rounds of ${Math.max(1, options.seconds / 2)} s (gateway first, then HAProxy first, …) after a warm-up of each: the host's speed drifts within a minute, two runs a second apart see nearly the same machine. Ratios are gateway ÷ HAProxy, the median of the rounds'.`,
          '',
          '| scenario | gateway policy | rounds: gateway req/s @ µs/req, p99 ms | rounds: HAProxy req/s @ µs/req, p99 ms | req/s × | CPU/req × | p99 × | check |',
          '|---|---|---|---|--:|--:|--:|---|',
          ...h2h.map((h) => {
            const side = (f: (x: { gateway: RoundFigures; haproxy: RoundFigures }) => RoundFigures): string => h.rounds.map((x) => `${fmt(f(x).rps)} @ ${f(x).cpuUsPerReq.toFixed(0)}, ${f(x).p99Ms.toFixed(2)}`).join('; ');
            return `| ${h.scenario} | ${h.policy} | ${side((x) => x.gateway)} | ${side((x) => x.haproxy)} | ${h.rps.toFixed(2)} | ${h.cpu.toFixed(2)} | ${h.p99.toFixed(2)} | ${h.check} |`;
          }),
          '',
        ]),
    '## Targets (issue 4)',
    '',
    `Reference figures from the issue (its machine, its run): direct ~${fmt(ISSUE_REFS.directRps)}, nginx ~${fmt(ISSUE_REFS.nginx.rps)} (${ISSUE_REFS.nginx.cpuUs} µs, p99 ${ISSUE_REFS.nginx.p99} ms), HAProxy-jwt ~${fmt(ISSUE_REFS.haproxyJwt.rps)} (${ISSUE_REFS.haproxyJwt.cpuUs} µs, p99 ${ISSUE_REFS.haproxyJwt.p99} ms), fastify+jose ~${fmt(ISSUE_REFS.fastifyJose.rps)} (${ISSUE_REFS.fastifyJose.cpuUs} µs, p99 ${ISSUE_REFS.fastifyJose.p99} ms).`,
    '',
    rows.some((r) => r.target === HAPROXY)
      ? "HAProxy-jwt ran in this run (rows above), so each goal is checked against its row for the same scenario, as the issue states them: one gateway process against HAProxy on one thread (`nbthread 1`), `--processes 2` against HAProxy's default (a thread per CPU); the CPU goal (25 µs where HAProxy-jwt took 42) as 25/42 of HAProxy-jwt's CPU per request here. fastify+jose is compared with its own row."
      : 'HAProxy-jwt did not run here, so each goal is an estimate restated from the issue\'s figures against this run\'s direct ones: HAProxy-jwt did 24k of 219k direct req/s (0.110 × direct), so "≥ 1.5× HAProxy-jwt" is "≥ 0.164 × direct" here; p99 goals are scaled by this run\'s direct p99 (issue: 0.4 ms), the CPU goal by the stub\'s CPU per request (issue machine: ~4 µs). Measured HAProxy does not keep that ratio (bench/README.md): install haproxy for real goals. fastify+jose is compared with its own row of this run when present.',
    '',
    '| target | measured | goal | met |',
    '|---|---|---|---|',
    ...checks.map((c) => `| ${c.target} | ${c.measured} | ${c.goal} | ${c.met === null ? '—' : c.met ? 'yes' : '**no**'} |`),
    '',
    '## Memory',
    '',
    '| gateway | RSS idle after start MB | RSS after its scenarios MB |',
    '|---|--:|--:|',
    ...memory.map((m) => `| ${m.target} | ${m.idleMB.toFixed(0)} | ${m.afterMB.toFixed(0)} |`),
    '',
    '| sustained run | s | req/s | RSS start → end MB | max MB | slope, 2nd half MB/10 s | samples (1 s) |',
    '|---|--:|--:|---|--:|--:|---|',
    ...soaks.map((s) => `| ${s.target}, ${s.scenario} | ${s.seconds} | ${fmt(s.rps)} | ${s.rssStartMB.toFixed(0)} → ${s.rssEndMB.toFixed(0)} | ${s.rssMaxMB.toFixed(0)} | ${s.slopeMBper10s.toFixed(1)} | ${s.samplesMB.map((x) => x.toFixed(0)).join(' ')} |`),
    '',
    '## Notes',
    '',
    ...notes.map((n) => `* ${n}`),
    '',
  ].join('\n');

  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, `${stem}.md`), md);
  writeFileSync(join(RESULTS, `${stem}.json`), `${JSON.stringify(result, null, 2)}\n`);
  rmSync(env.dir, { recursive: true, force: true });

  process.stdout.write(`\n${consoleTable(rows)}\n\n`);
  for (const c of checks) process.stdout.write(`${c.met === true ? 'MET ' : 'MISS'}  ${c.target}: ${c.measured} (goal ${c.goal})\n`);
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
  process.stdout.write(`\nresults: bench/results/${stem}.md and .json (${elapsed.toFixed(0)} s)\n`);
}

/** CPU profiles of the gateway under load: inline and pool on tools/call (jwt only), inline on a filtered tools/list. */
async function profile(options: Options): Promise<void> {
  const env = await setup({ ...options, tokens: Math.min(options.tokens, 12_500) });
  const stub = await startStubProcess();
  env.stubPort = stub.port;
  env.stubPid = stub.p.pid;
  const commit = commitInfo();
  const out: string[] = [`# CPU profiles of the gateway, commit ${commit.short}${commit.dirty ? ' + uncommitted changes' : ''}`, ''];
  const cases: ReadonlyArray<{ label: string; workers: number; rules: number; s: Scenario }> = [
    { label: 'inline-call', workers: 0, rules: 0, s: S.call },
    { label: 'pool-call', workers: 1, rules: 0, s: S.call },
    { label: 'pool-call-rule', workers: 1, rules: 1, s: S.call },
    { label: 'pool-fresh', workers: 1, rules: 0, s: S.fresh },
    { label: 'inline-list20-rule', workers: 0, rules: 1, s: S.list20 },
    { label: 'pool-list20-rule', workers: 1, rules: 1, s: S.list20 },
  ];
  try {
    for (const c of cases) {
      if (options.only !== null && !options.only.test(c.label)) continue;
      const profDir = join(env.dir, `prof-${c.label}`);
      mkdirSync(profDir);
      const gw = await startGateways(env, { label: c.label, workers: c.workers, rules: c.rules, processes: 1 }, [
        '--cpu-prof',
        `--cpu-prof-dir=${profDir}`,
        '--cpu-prof-interval=200',
      ]);
      const { pids, port } = gw;
      let rps = 0;
      let cpuUs = 0;
      let window: readonly [number, number] | undefined;
      try {
        const m = await measure(`http://127.0.0.1:${port}/mcp`, c.s, env, pids, Math.max(options.seconds, 5), `profile-${c.label}`);
        rps = m.load.rps;
        cpuUs = (m.proxyCpu * 1e6) / Math.max(1, m.load.requests);
        window = m.windowUs;
      } finally {
        await stopGateways(gw);
      }
      out.push(`## ${c.label}: ${c.s.id}, ${c.workers === 0 ? 'inline' : `pool ${c.workers}`}, ${c.rules === 0 ? 'jwt only' : `jwt + ${c.rules} rule`} — ${fmt(rps)} req/s, ${cpuUs.toFixed(1)} µs/req (profiler on)`, '');
      const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).sort();
      if (files.length === 0) out.push('(no profile written)', '');
      for (const f of files) out.push(formatSummary(summarize(parseProfile(readFileSync(join(profDir, f), 'utf8')), `${c.label}/${f}`, window), 25));
    }
  } finally {
    await stopProcess(stub.p);
  }
  const text = out.join('\n');
  const date = new Date().toISOString().slice(0, 10);
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `${date}-${commit.short}${commit.dirty ? '-dirty' : ''}-profile.md`);
  writeFileSync(file, text);
  rmSync(env.dir, { recursive: true, force: true });
  process.stdout.write(`${text}\nwritten: ${file}\n`);
}

installCleanup((signal) => log(`${signal}: stopping everything`));
const opts = parseOptions(process.argv.slice(2));
await (opts.profile ? profile(opts) : opts.headToHead !== null ? headToHeadOnly(opts) : benchmark(opts));
process.exit(0);
