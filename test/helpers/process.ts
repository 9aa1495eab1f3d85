// Child processes for tests: long-running servers (spawnAndWait) and one-shot commands (run).
// Readiness is a line of output, never a sleep.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnedProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved as received */
  output(): string;
  /** complete lines so far, from both streams */
  lines(): readonly string[];
  /**
   * Resolves with the first line at index >= fromLine matching `pattern` (already received or
   * yet to come); rejects on exit or timeout. Use `lines().length` as fromLine to skip old lines.
   */
  waitFor(pattern: RegExp, opts?: { readonly fromLine?: number; readonly timeoutMs?: number }): Promise<string>;
  /** Settles when the process exits. */
  readonly exited: Promise<ExitStatus>;
  /** Sends `signal` (default SIGTERM), SIGKILL after killAfterMs (default 5000), and waits for exit. */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<ExitStatus>;
}

export interface SpawnOptions {
  /** added to process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** the process is ready once a line on stdout or stderr matches */
  readonly readyLine: RegExp;
  /** default 15000 */
  readonly timeoutMs?: number;
}

export async function spawnAndWait(cmd: string, args: readonly string[], opts: SpawnOptions): Promise<SpawnedProcess> {
  const child = spawn(cmd, [...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const lines: string[] = [];
  const partial = { stdout: '', stderr: '' };
  const watchers = new Set<(line: string, index: number) => void>();

  const onData = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const s = chunk.toString('utf8');
    text += s;
    const parts = (partial[stream] + s).split('\n');
    partial[stream] = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const watch of [...watchers]) watch(line, lines.length - 1);
    }
  };
  child.stdout.on('data', onData('stdout'));
  child.stderr.on('data', onData('stderr'));

  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('error', () => resolve({ code: null, signal: null })); // e.g. ENOENT: no exit event follows
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let exitStatus: ExitStatus | undefined;
  void exited.then((status) => {
    exitStatus = status;
  });

  const waitFor = (pattern: RegExp, waitOpts: { readonly fromLine?: number; readonly timeoutMs?: number } = {}): Promise<string> => {
    const fromLine = waitOpts.fromLine ?? 0;
    const seen = lines.slice(fromLine).find((line) => pattern.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    const timeoutMs = waitOpts.timeoutMs ?? opts.timeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      const done = (): void => {
        watchers.delete(watch);
        clearTimeout(timer);
      };
      const watch = (line: string, index: number): void => {
        if (index >= fromLine && pattern.test(line)) {
          done();
          resolve(line);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${cmd}: no line matching ${pattern} within ${timeoutMs} ms; output:\n${text}`));
      }, timeoutMs);
      watchers.add(watch);
      void exited.then((status) => {
        if (!watchers.has(watch)) return;
        done();
        reject(new Error(`${cmd} exited (code ${status.code}, signal ${status.signal}) before a line matching ${pattern}; output:\n${text}`));
      });
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 5000): Promise<ExitStatus> => {
    if (exitStatus !== undefined) return exitStatus;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    const status = await exited;
    clearTimeout(timer);
    return status;
  };

  const spawned: SpawnedProcess = { child, output: () => text, lines: () => lines, waitFor, exited, stop };
  try {
    await waitFor(opts.readyLine);
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
  return spawned;
}

export interface RunResult extends ExitStatus {
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** added to process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** written to stdin, which is then closed; without it stdin is empty */
  readonly input?: string;
  /** default 30000; on timeout the whole process group is killed and run() rejects with the output */
  readonly timeoutMs?: number;
}

/** Runs a command to completion and captures its output. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  // Own process group, so a timeout also ends grandchildren (mcp-inspector runs its CLI as a child).
  const child = spawn(cmd, [...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin.on('error', () => {}); // the command may exit without reading stdin
  child.stdin.end(opts.input ?? '');
  const timeoutMs = opts.timeoutMs ?? 30_000;

  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // 'close', not 'exit': all output has been read.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new Error(`${cmd} ${args.join(' ')}: timed out after ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      else resolve({ code, signal, stdout, stderr });
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal); // group already gone
  }
}
