// A stdio MCP server: one process per gateway session (as agentgateway), newline-delimited
// JSON-RPC on stdin/stdout. Its stderr goes to the gateway's log, never to the client.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Channel } from './channel.js';

export function openStdioChannel(
  spec: { readonly cmd: string; readonly args: readonly string[]; readonly env: Readonly<Record<string, string>> },
  log: (line: string) => void,
): Channel {
  const child = spawn(spec.cmd, [...spec.args], { env: { ...process.env, ...spec.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let closed = false;
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  const channel: Channel = {
    onMessage: () => {},
    onClose: () => {},
    send(text) {
      if (closed || child.stdin.destroyed) return false;
      // One message per line: JSON.stringify never emits raw newlines, but a client body may.
      child.stdin.write(`${text.replace(/\r?\n/g, ' ')}\n`);
      return true;
    },
    close() {
      if (closed) return;
      closed = true;
      child.stdin.end();
      child.kill('SIGTERM');
      // A server that ignores SIGTERM is not left behind.
      setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 2_000).unref();
    },
    async closeAndWait() {
      if (exited || child.exitCode !== null || child.pid === undefined) return;
      channel.close();
      await exit;
    },
    get closed() {
      return closed;
    },
  };
  const finish = (reason: string): void => {
    const wasOpen = !closed;
    closed = true;
    if (wasOpen || reason !== '') channel.onClose(reason);
  };
  child.on('error', (err) => finish(`could not start ${spec.cmd}: ${err.message}`));
  child.on('exit', (code, signal) => finish(`${spec.cmd} exited (${signal ?? code})`));
  child.stdin.on('error', () => {});
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.trim() !== '') channel.onMessage(line);
  });
  createInterface({ input: child.stderr }).on('line', log);
  return channel;
}
