// The processes under test, each its own process, started on a given CPU (pin.ts) or anywhere:
// the stub upstream, gateways (`node bin/portcullis.js -c '<config>' --workers N [--processes N]`),
// the floor relays (bare-proxy.ts, socket-relay.ts) and the optional fastify reference. A
// gateway counts as started when its pid holds the listening socket.

import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { PipeliningPolicy, UpstreamClient } from '../src/main/config/types.js';
import { AUDIENCE, ISSUER, gatewayConfig } from './fixtures.js';
import { allowedCpus, onCpu, setAffinity } from './pin.js';
import { processCpuSeconds } from './proc.js';
import { childPids, forgetDescendant, startProcess, stopProcess, trackDescendant, waitForLine, waitUntil, type Started } from './processes.js';
import { ROOT, log, type Env } from './setup.js';

const BIN = join(ROOT, 'bin', 'portcullis.js');
const STUB = join(ROOT, 'dist', 'bench', 'stub-upstream.js');
const BARE = join(ROOT, 'dist', 'bench', 'bare-proxy.js');
const SOCKET_RELAY = join(ROOT, 'dist', 'bench', 'socket-relay.js');
const REFERENCE = join(ROOT, 'bench', 'reference', 'fastify-jose-proxy.mjs');

export async function freePort(): Promise<number> {
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

/** A process of the bench's own scripts (stub, relays) that prints `<marker> <port>` when ready. */
async function startScript(script: string, args: readonly string[], marker: string, cpu: number | null): Promise<{ p: Started; port: number }> {
  const port = await freePort();
  const cmd = onCpu(cpu, process.execPath, [script, '--port', String(port), ...args]);
  const p = startProcess(cmd.command, cmd.args, { captureStdout: true });
  await waitForLine(p, marker, 10_000);
  return { p, port };
}

export function startStub(cpu: number | null): Promise<{ p: Started; port: number }> {
  return startScript(STUB, ['--host', '127.0.0.1'], 'stub listening on', cpu);
}

/** Runs `fn` with the stub free to run on any CPU (for the unpinned rows), then pins it back. */
export async function withStubUnpinned<T>(env: Env, fn: () => Promise<T>): Promise<T> {
  if (env.cpus === null) return fn();
  setAffinity(env.stubPid, allowedCpus().join(','));
  try {
    return await fn();
  } finally {
    setAffinity(env.stubPid, String(env.cpus.load));
  }
}

/** The floor relays: `undici` (bare-proxy.ts, undici's dispatch as the gateway calls it),
 * `socket` (a minimal client on net.Socket) and `socket-pipelined` (the same on 4 connections,
 * requests pipelined, one write per connection per turn of the event loop). */
export type RelayKind = 'undici' | 'socket' | 'socket-pipelined';

export function startRelay(env: Env, kind: RelayKind, cpu: number | null): Promise<{ p: Started; port: number }> {
  const upstream = ['--upstream', `http://127.0.0.1:${env.stubPort}/mcp`];
  if (kind === 'undici') return startScript(BARE, upstream, 'bare proxy listening on', cpu);
  return startScript(SOCKET_RELAY, [...upstream, ...(kind === 'socket-pipelined' ? ['--pipeline', '4'] : [])], 'socket relay listening on', cpu);
}

export interface GatewaySpec {
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
  /** an HTTPS listener (the runner's self-signed certificate) */
  readonly https?: boolean;
  /** `config.upstreamClient` (unset: the gateway's default) */
  readonly upstreamClient?: UpstreamClient;
  /** the stub target's `http.pipelining` (unset: none) */
  readonly pipelining?: PipeliningPolicy;
  readonly processes: number;
}

export interface RunningGateway {
  /** the processes this bench started (one primary with --processes N, or N independent ones) */
  readonly procs: Started[];
  /** every process serving requests (the primary's forked children included), for CPU and RSS */
  readonly pids: number[];
  readonly port: number;
  readonly how: string;
}

/** A gateway on `cpu` (every thread and forked process inherits it) or anywhere (null). */
export async function startGateways(env: Env, g: GatewaySpec, cpu: number | null, nodeArgs: readonly string[] = [], bin = BIN): Promise<RunningGateway> {
  const port = await freePort();
  const exchange = g.exchange === true ? { exchangePort: env.tokenEndpointPort } : {};
  const tracing = g.tracing === true ? { tracingPort: env.otlpSinkPort } : {};
  const tls = g.https === true ? { tls: { cert: env.tls.cert, key: env.tls.key } } : {};
  const client = { ...(g.upstreamClient === undefined ? {} : { upstreamClient: g.upstreamClient }), ...(g.pipelining === undefined ? {} : { pipelining: g.pipelining }) };
  const yaml = gatewayConfig({ port, stubPort: env.stubPort, jwksFile: env.jwksFile, rules: g.rules, listCache: g.listCache ?? true, ...exchange, ...tracing, ...tls, ...client });
  const gwEnv = { ...process.env, ADMIN_ADDR: '', STATS_ADDR: '', READINESS_ADDR: '' };
  const args = [...nodeArgs, bin, '-c', yaml, '--workers', String(g.workers)];
  if (g.processes > 1) {
    // The CLI's own --processes N: a primary that forks N gateway processes.
    const cmd = onCpu(cpu, process.execPath, [...args, '--processes', String(g.processes)]);
    const primary = startProcess(cmd.command, cmd.args, { cwd: env.dir, env: gwEnv });
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
  const cmd = onCpu(cpu, process.execPath, args);
  const p = startProcess(cmd.command, cmd.args, { cwd: env.dir, env: gwEnv });
  await waitUntil(p, () => Promise.resolve(listensOn(p.pid, port)), 20_000, `gateway ${g.label}`);
  return { procs: [p], pids: [p.pid], port, how: '1 process' };
}

export async function stopGateways(gw: RunningGateway): Promise<void> {
  const t0 = performance.now();
  for (const p of gw.procs) await stopProcess(p);
  const ms = performance.now() - t0;
  if (ms > 2000) log(`${gw.how} took ${(ms / 1000).toFixed(1)} s to stop after SIGTERM`);
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

/** The optional fastify + @fastify/reply-from + jose reference, or why it did not start. */
export async function startReference(env: Env, cpu: number | null): Promise<{ p: Started; port: number } | string> {
  if (!existsSync(join(ROOT, 'bench', 'reference', 'node_modules', 'fastify'))) {
    return 'skipped: fastify not installed (npm --prefix bench/reference ci)';
  }
  const port = await freePort();
  const cmd = onCpu(cpu, process.execPath, [REFERENCE, String(port), `http://127.0.0.1:${env.stubPort}`, env.jwksFile, ISSUER, AUDIENCE]);
  const p = startProcess(cmd.command, cmd.args, { captureStdout: true });
  try {
    await waitForLine(p, 'reference listening on', 15_000);
  } catch (err) {
    await stopProcess(p, 2000);
    return `skipped: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}`;
  }
  return { p, port };
}
