// CPU pinning for the bench (util-linux `taskset`): the proxy under test alone on one vCPU, the
// load generator and the stub on another, so that each figure is one core's worth of work and
// the proxy never competes with wrk or the stub for its CPU. A process started under
// `taskset -c N` keeps the mask for every thread it creates later (worker threads, libuv's pool,
// V8's helpers) and every process it forks.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Where the processes of a measurement run: null when not pinned (the scheduler's choice). */
export interface CpuPlan {
  /** the proxy under test, alone */
  readonly proxy: number;
  /** the load generator (wrk, the paced load) and the stub */
  readonly load: number;
}

/** The CPUs this process may run on (its affinity), from /proc/self/status. */
export function allowedCpus(): number[] {
  const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  const out: number[] = [];
  for (const part of (m?.[1] ?? '').split(',')) {
    const [lo, hi] = part.split('-').map(Number);
    if (lo === undefined || !Number.isInteger(lo)) continue;
    for (let c = lo; c <= (hi ?? lo); c++) out.push(c);
  }
  return out;
}

export function tasksetAvailable(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `--pin P,L` (default 0,1): checked against the CPUs this process may use. */
export function parseCpuPlan(text: string): CpuPlan {
  const m = /^(\d+),(\d+)$/.exec(text);
  if (m?.[1] === undefined || m[2] === undefined) throw new Error(`--pin expects <proxy cpu>,<load cpu>, e.g. 0,1; got ${text}`);
  const plan = { proxy: Number(m[1]), load: Number(m[2]) };
  if (plan.proxy === plan.load) throw new Error('--pin: the proxy and the load need different CPUs');
  const allowed = allowedCpus();
  for (const c of [plan.proxy, plan.load]) if (!allowed.includes(c)) throw new Error(`--pin: CPU ${c} is not available here (allowed: ${allowed.join(',')})`);
  if (!tasksetAvailable()) throw new Error('taskset is not installed (util-linux); pinning needs it, or run with --no-pin');
  return plan;
}

/** The command line that runs `command args` on `cpu` only (unchanged when cpu is null). */
export function onCpu(cpu: number | null, command: string, args: readonly string[]): { command: string; args: string[] } {
  return cpu === null ? { command, args: [...args] } : { command: 'taskset', args: ['-c', String(cpu), command, ...args] };
}

/** Moves a running process, all its threads, onto `cpus` (e.g. "1" or "0-1"). */
export function setAffinity(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** The CPU lists the threads of `pids` may run on, with how many threads have each (from
 * /proc/<pid>/task/<tid>/status): the check that pinning reached every thread. */
export function threadAffinities(pids: readonly number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of pids) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
        const list = m?.[1] ?? '?';
        out.set(list, (out.get(list) ?? 0) + 1);
      } catch {
        // thread gone
      }
    }
  }
  return out;
}
