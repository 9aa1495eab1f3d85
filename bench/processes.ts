// Child processes of the bench (stub, gateways, references, wrk): every one is tracked by pid
// and stopped at the end, on Ctrl+C, on SIGTERM and on an uncaught error. Only the bench's
// own children are ever signalled.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { reapedChildrenCpuSeconds } from './proc.js';

const live = new Set<ChildProcess>();
/** Grandchildren (processes our children forked, e.g. `--processes N`), killed with the rest. */
const extraPids = new Set<number>();

/** Records a descendant's pid so killAll() stops it too. */
export function trackDescendant(pid: number): void {
  extraPids.add(pid);
}

export function forgetDescendant(pid: number): void {
  extraPids.delete(pid);
}

/** Every process of this bench still running (children and tracked descendants): what a
 * measurement counts as its own CPU when it works out how much other people's load took. */
export function livePids(): number[] {
  const out = new Set<number>(extraPids);
  for (const child of live) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) out.add(child.pid);
  return [...out];
}

/** Direct children of `pid` (from /proc/<pid>/task/<pid>/children, else a scan of /proc). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((x) => x !== '').map(Number);
  } catch {
    const out: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const text = readFileSync(`/proc/${name}/stat`, 'utf8');
        const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pid) out.push(Number(name));
      } catch {
        // gone
      }
    }
    return out;
  }
}

export interface Started {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stderr collected so far (capped), for error messages */
  stderr(): string;
  /** resolves when the process has exited */
  readonly exited: Promise<number | null>;
}

export function startProcess(command: string, args: readonly string[], options: SpawnOptions & { captureStdout?: boolean }): Started {
  const child = spawn(command, [...args], {
    ...options,
    stdio: ['ignore', options.captureStdout === true ? 'pipe' : 'ignore', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  live.add(child);
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    if (err.length < 16_384) err += s;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    });
  });
  return { child, pid: child.pid, stderr: () => err, exited };
}

/** Runs a command to its end and returns what follows `marker` on the line of its stdout that
 * starts with it (a tool's one-line JSON result), and the CPU it and its children used. */
export async function runForLine(command: string, args: readonly string[], marker: string, what: string): Promise<{ text: string; cpuSeconds: number }> {
  const cpuBefore = reapedChildrenCpuSeconds();
  const p = startProcess(command, args, { captureStdout: true });
  let out = '';
  p.child.stdout?.setEncoding('utf8');
  p.child.stdout?.on('data', (s: string) => {
    out += s;
  });
  const code = await p.exited;
  const cpuSeconds = reapedChildrenCpuSeconds() - cpuBefore;
  const line = out.split('\n').find((l) => l.startsWith(marker));
  if (code !== 0 || line === undefined) throw new Error(`${what} failed (code ${String(code)}): ${out.slice(-1000)} ${p.stderr().slice(-1000)}`);
  return { text: line.slice(marker.length), cpuSeconds };
}

/** Waits for a line containing `marker` on the child's stdout (captureStdout must be set). */
export function waitForLine(p: Started, marker: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const out = p.child.stdout;
    if (out === null) {
      reject(new Error('stdout is not captured'));
      return;
    }
    out.setEncoding('utf8');
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no "${marker}" within ${timeoutMs} ms; stderr: ${p.stderr().slice(-2000)}`)), timeoutMs);
    const onData = (s: string): void => {
      buffer += s;
      const at = buffer.indexOf(marker);
      if (at < 0) return;
      clearTimeout(timer);
      const end = buffer.indexOf('\n', at);
      resolve(buffer.slice(at, end < 0 ? undefined : end));
      // keep draining so the child never blocks on a full pipe
      out.off('data', onData);
      out.resume();
    };
    out.on('data', onData);
    void p.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited (code ${String(code)}) before "${marker}"; stderr: ${p.stderr().slice(-2000)}`));
    });
  });
}

/** Polls `probe` until it resolves true, the process exits, or the timeout passes. */
export async function waitUntil(p: Started, probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void p.exited.then(() => {
    gone = true;
  });
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${what} exited during start; stderr: ${p.stderr().slice(-2000)}`);
    try {
      if (await probe()) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms; stderr: ${p.stderr().slice(-2000)}`);
}

/** SIGTERM, then SIGKILL after graceMs. Resolves once the process is gone. */
export async function stopProcess(p: Started, graceMs = 15_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

/** Kills every child still running (synchronous: usable from 'exit'). */
export function killAll(): void {
  for (const child of live) {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
  for (const pid of extraPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  extraPids.clear();
}

/** Cleans up on exit, Ctrl+C, SIGTERM and crashes. */
export function installCleanup(onSignal: (signal: string) => void): void {
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      onSignal(signal);
      killAll();
      process.exit(130);
    });
  }
  process.once('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err.stack ?? String(err)}\n`);
    killAll();
    process.exit(1);
  });
  process.once('unhandledRejection', (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killAll();
    process.exit(1);
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port (a readiness probe). */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
