// `--processes N`: one event loop per core. The primary forks N gateway processes running the
// same arguments; uWS listens with SO_REUSEPORT, so the kernel spreads connections across them.
// They share one session key (sealed session ids work in any of them): the one the primary
// resolved at start (PORTCULLIS_SESSION_KEY, else config.session.key, else a random one), so
// they agree even if the file's key changes before one is restarted. Only the first keeps the
// ops listeners, so ports 15000/15020/15021 stay single. A process that dies is restarted with
// backoff (restart-backoff.ts); a process whose supervisor is gone drains and exits (cli.ts).
// SIGHUP is passed on to every process, which reloads its config file.

import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DEFAULT_BACKOFF, RestartBackoff, type BackoffPolicy } from './restart-backoff.js';

const portcullisBin = fileURLToPath(new URL('../../../../bin/portcullis.js', import.meta.url));

export interface ProcessesOptions {
  readonly count: number;
  /** the gateway's arguments (without --processes) */
  readonly argv: readonly string[];
  /** the key the processes must use; null when neither env nor config has one */
  readonly sessionKey: string | null;
  readonly log: (line: string) => void;
  /** tests: another script to fork, another restart policy */
  readonly bin?: string;
  readonly backoff?: BackoffPolicy;
}

/** Resolves with the exit code: 0 once a signal stopped every process, 1 after giving up. */
export function runProcesses(options: ProcessesOptions): Promise<number> {
  const { count, argv, log } = options;
  const bin = options.bin ?? portcullisBin;
  const sessionKey = options.sessionKey ?? randomBytes(32).toString('base64url');
  const children = new Map<number, ChildProcess>();
  const pending = new Map<number, NodeJS.Timeout>();
  let stopping = false;
  let exitCode = 0;
  let finish: (code: number) => void = () => {};

  function start(index: number, backoff: RestartBackoff): void {
    const env: NodeJS.ProcessEnv = { ...process.env, PORTCULLIS_SESSION_KEY: sessionKey, PORTCULLIS_PROCESS_INDEX: String(index) };
    if (index > 0) {
      env['ADMIN_ADDR'] = '';
      env['STATS_ADDR'] = '';
      env['READINESS_ADDR'] = '';
    }
    const startedAt = Date.now();
    const child = fork(bin, [...argv], { env, stdio: 'inherit' });
    children.set(index, child);
    child.on('exit', (code, signal) => {
      children.delete(index);
      if (stopping) {
        if (children.size === 0) finish(exitCode);
        return;
      }
      const how = signal ?? code;
      const decision = backoff.next(Date.now() - startedAt);
      if ('giveUp' in decision) {
        log(`portcullis: process ${index} exited ${backoff.deathsInARow} times in a row, each soon after starting (last: ${how}); giving up`);
        stop('SIGTERM', 1);
        return;
      }
      log(`portcullis: process ${index} exited (${how}); restarting it in ${decision.restartInMs} ms`);
      pending.set(
        index,
        setTimeout(() => {
          pending.delete(index);
          start(index, backoff);
        }, decision.restartInMs),
      );
    });
  }

  function stop(signal: NodeJS.Signals, code: number): void {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const timer of pending.values()) clearTimeout(timer);
    pending.clear();
    for (const c of children.values()) c.kill(signal);
    if (children.size === 0) finish(exitCode);
  }

  const onSigint = (): void => stop('SIGINT', 0);
  const onSigterm = (): void => stop('SIGTERM', 0);
  // A reload for the supervisor is one for each process: each reads the file itself.
  const onSighup = (): void => {
    if (stopping) return;
    log(`portcullis: received SIGHUP, passing it on to ${children.size} processes`);
    for (const c of children.values()) c.kill('SIGHUP');
  };
  return new Promise((resolve) => {
    finish = (code) => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
      process.off('SIGHUP', onSighup);
      resolve(code);
    };
    process.once('SIGINT', onSigint);
    process.once('SIGTERM', onSigterm);
    process.on('SIGHUP', onSighup);
    for (let i = 0; i < count; i++) start(i, new RestartBackoff(options.backoff ?? DEFAULT_BACKOFF));
  });
}
