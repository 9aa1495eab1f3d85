// A stdio MCP server: one process per gateway session (as agentgateway), newline-delimited
// JSON-RPC on stdin/stdout. Its stderr goes to the gateway's log (capped), never to the client.

import { spawn } from 'node:child_process';
import type { Channel } from './channel.js';
import { LineSplitter } from './line-splitter.js';
import { StderrLog } from './stderr-log.js';

/** The longest stdout line (one message) read; as the 64 MiB held to filter an HTTP answer. */
export const maxMessageBytes = 64 * 1024 * 1024;

export function openStdioChannel(
  spec: { readonly cmd: string; readonly args: readonly string[]; readonly env: Readonly<Record<string, string>> },
  log: (line: string) => void,
): Channel {
  const child = spawn(spec.cmd, [...spec.args], { env: { ...process.env, ...spec.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  /** the process is told to go (or gone): nothing more is sent */
  let closed = false;
  let killed = false;
  /** onClose ran: the session knows the channel is over */
  let reported = false;
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  const kill = (): void => {
    closed = true;
    if (killed) return;
    killed = true;
    child.stdin.end();
    child.kill('SIGTERM');
    // A server that ignores SIGTERM is not left behind.
    setTimeout(() => {
      if (!exited) child.kill('SIGKILL');
    }, 2_000).unref();
  };
  const channel: Channel = {
    onMessage: () => {},
    onClose: () => {},
    send(text) {
      if (closed || child.stdin.destroyed) return false;
      if (child.stdin.writableLength > maxMessageBytes) {
        // The server stopped reading its stdin: what clients send would pile up in the gateway
        // (a notification is answered 202 at once). The session ends, as for an endless stdout line.
        log(`session closed: the server has not read ${maxMessageBytes / 1024 / 1024} MiB sent to its stdin`);
        finish(`${spec.cmd} does not read its stdin`);
        kill();
        return false;
      }
      // One message per line: JSON.stringify never emits raw newlines, but a client body may.
      child.stdin.write(`${text.replace(/\r?\n/g, ' ')}\n`);
      return true;
    },
    close: kill,
    async closeAndWait() {
      if (exited || child.exitCode !== null || child.pid === undefined) return;
      kill();
      await exit;
    },
    get closed() {
      return closed;
    },
  };
  // Once: a gateway-side close reports when the process is gone; a broken stdout at once.
  const finish = (reason: string): void => {
    closed = true;
    if (reported) return;
    reported = true;
    channel.onClose(reason);
  };
  child.on('error', (err) => finish(`could not start ${spec.cmd}: ${err.message}`));
  child.on('exit', (code, signal) => finish(`${spec.cmd} exited (${signal ?? code})`));
  child.stdin.on('error', () => {});

  const stdout = new LineSplitter(maxMessageBytes);
  const tooLong = (): void => {
    const reason = `${spec.cmd} wrote a stdout line (one message) longer than ${maxMessageBytes / 1024 / 1024} MiB`;
    log(`session closed: stdout line longer than ${maxMessageBytes / 1024 / 1024} MiB`);
    // What it writes from here on is not read, let alone held.
    child.stdout.destroy();
    finish(reason);
    kill();
  };
  const message = (text: string): void => {
    if (text.trim() !== '') channel.onMessage(text);
  };
  child.stdout.on('data', (chunk: Buffer) => {
    for (const line of stdout.push(chunk)) {
      if (line.cut > 0) {
        tooLong();
        return;
      }
      message(line.text);
    }
    if (stdout.cutting > 0) tooLong();
  });
  child.stdout.on('end', () => {
    const last = stdout.end();
    if (last !== null && last.cut === 0) message(last.text);
  });
  const stderr = new StderrLog(log);
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stderr.on('end', () => stderr.end());
  return channel;
}
