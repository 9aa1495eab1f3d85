// /proc readers for the bench: CPU time per process (all threads), RSS, the machine's total
// busy time (to estimate how much CPU other people's processes took during a run), and the
// machine description written next to the results. Linux only.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

let clockTicks: number | null = null;

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on every Linux we target). */
export function clockTicksPerSecond(): number {
  if (clockTicks === null) {
    try {
      const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      clockTicks = Number.isFinite(v) && v > 0 ? v : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Fields of /proc/<pid>/stat after the `(comm)` field; index 0 is `state` (field 3). */
function statFields(path: string): string[] | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const close = text.lastIndexOf(')');
  return close < 0 ? null : text.slice(close + 2).trim().split(' ');
}

/** utime + stime of a process, all its threads (dead ones included), in seconds; null once gone. */
export function processCpuSeconds(pid: number): number | null {
  const f = statFields(`/proc/${pid}/stat`);
  if (f === null) return null;
  // fields 14 and 15 (utime, stime) are at indexes 11 and 12 here
  return (Number(f[11]) + Number(f[12])) / clockTicksPerSecond();
}

/** cutime + cstime of this process: CPU of children it has reaped (wrk, once it exits), seconds. */
export function reapedChildrenCpuSeconds(): number {
  const f = statFields('/proc/self/stat');
  if (f === null) return 0;
  return (Number(f[13]) + Number(f[14])) / clockTicksPerSecond();
}

/** VmRSS in bytes, or null once the process is gone. */
export function rssBytes(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m === null || m[1] === undefined ? null : Number(m[1]) * 1024;
}

/** The inodes of the sockets `pids` hold open (/proc/<pid>/fd: `socket:[inode]`). */
function socketInodes(pids: readonly number[]): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1] !== undefined) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

/** How many rows of a /proc/net/tcp(6) table are established connections to remote `port` whose
 * socket inode is in `inodes`. */
export function establishedTo(table: string, port: number, inodes: ReadonlySet<string>): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const line of table.split('\n').slice(1)) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
    const f = line.trim().split(/\s+/);
    if (f[3] === '01' && f[2]?.endsWith(`:${hexPort}`) === true && inodes.has(f[9] ?? '')) n++;
  }
  return n;
}

/** TCP connections the processes `pids` hold established to `port` on this host. */
export function connectionsTo(pids: readonly number[], port: number): number {
  const inodes = socketInodes(pids);
  if (inodes.size === 0) return 0;
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      n += establishedTo(readFileSync(file, 'utf8'), port, inodes);
    } catch {
      // no IPv6
    }
  }
  return n;
}

export interface SystemCpu {
  /** all CPUs, seconds busy (everything but idle and iowait) */
  readonly busy: number;
  readonly total: number;
}

export function systemCpu(): SystemCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const hz = clockTicksPerSecond();
  return { busy: (total - idle) / hz, total: total / hz };
}

/** Busy fraction of the whole machine (0..1 per core summed, divided by cores) over `ms`. */
export async function machineBusy(ms: number): Promise<number> {
  const a = systemCpu();
  await new Promise((r) => setTimeout(r, ms));
  const b = systemCpu();
  const total = b.total - a.total;
  return total <= 0 ? 0 : (b.busy - a.busy) / total;
}

export interface MachineInfo {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly wrk: string | null;
}

export function machineInfo(wrkVersion: string | null): MachineInfo {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1] !== undefined) model = m[1].trim();
  } catch {
    // keep os.cpus()'s answer
  }
  let kernel = 'unknown';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // not Linux
  }
  return {
    nproc: cpus().length,
    cpuModel: model,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel,
    node: process.version,
    wrk: wrkVersion,
  };
}
