// `--processes N`: one event loop per core. The primary forks N gateway processes running the
// same arguments; uWS listens with SO_REUSEPORT, so the kernel spreads connections across them.
// They share one session key (sealed session ids work in any of them): the one the primary
// resolved at start (PORTCULLIS_SESSION_KEY, else config.session.key, else a random one), so
// they agree even if the file's key changes before one is restarted. Only the first keeps the
// ops listeners, so ports 15000/15020/15021 stay single. A process that dies is restarted.

import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../../bin/portcullis.js', import.meta.url));

/** `configuredKey`: the key the processes must use; null when neither env nor config has one. */
export function runProcesses(count: number, argv: readonly string[], configuredKey: string | null, log: (line: string) => void): Promise<number> {
  const sessionKey = configuredKey ?? randomBytes(32).toString('base64url');
  const children = new Map<number, ChildProcess>();
  let stopping = false;
  let done: ((code: number) => void) | null = null;
  const restarts: number[] = [];

  function start(index: number): void {
    const env: NodeJS.ProcessEnv = { ...process.env, PORTCULLIS_SESSION_KEY: sessionKey, PORTCULLIS_PROCESS_INDEX: String(index) };
    if (index > 0) {
      env['ADMIN_ADDR'] = '';
      env['STATS_ADDR'] = '';
      env['READINESS_ADDR'] = '';
    }
    const child = fork(bin, [...argv], { env, stdio: 'inherit' });
    children.set(index, child);
    child.on('exit', (code, signal) => {
      children.delete(index);
      if (stopping) {
        if (children.size === 0) done?.(0);
        return;
      }
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && (restarts[0] ?? now) < now - 60_000) restarts.shift();
      if (restarts.length > count * 5) {
        log(`portcullis: gateway processes keep dying (last: ${signal ?? code}); giving up`);
        stop('SIGTERM');
        return;
      }
      log(`portcullis: process ${index} exited (${signal ?? code}); restarting it`);
      start(index);
    });
  }

  function stop(signal: NodeJS.Signals): void {
    stopping = true;
    for (const c of children.values()) c.kill(signal);
  }

  for (let i = 0; i < count; i++) start(i);
  return new Promise((resolve) => {
    done = resolve;
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
