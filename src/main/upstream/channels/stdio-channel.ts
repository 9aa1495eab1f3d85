// A stdio MCP server: one process per gateway session (as agentgateway), newline-delimited
// JSON-RPC on stdin/stdout. Its stderr goes to the gateway's log (capped), never to the client.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Channel } from './channel.js';
import { LineSplitter } from './line-splitter.js';
import { StderrLog } from './stderr-log.js';

/** The longest stdout line (one message) read; as the 64 MiB held to filter an HTTP answer. */
export const maxMessageBytes = 64 * 1024 * 1024;

export interface StdioSpec {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export function openStdioChannel(spec: StdioSpec, log: (line: string) => void): Channel {
  return new StdioChannel(spec, log);
}

class StdioChannel implements Channel {
  onMessage: (text: string) => void = () => {};
  onClose: (reason: string) => void = () => {};
  readonly #spec: StdioSpec;
  readonly #log: (line: string) => void;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #exit: Promise<void>;
  readonly #stdout = new LineSplitter(maxMessageBytes);
  /** the process is told to go (or gone): nothing more is sent */
  #closed = false;
  #killed = false;
  /** onClose ran: the session knows the channel is over */
  #reported = false;
  #exited = false;

  constructor(spec: StdioSpec, log: (line: string) => void) {
    this.#spec = spec;
    this.#log = log;
    const child = spawn(spec.cmd, [...spec.args], { env: { ...process.env, ...spec.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    this.#exit = new Promise<void>((resolve) =>
      child.once('exit', () => {
        this.#exited = true;
        resolve();
      }),
    );
    child.on('error', (err) => this.#finish(`could not start ${spec.cmd}: ${err.message}`));
    child.on('exit', (code, signal) => this.#finish(`${spec.cmd} exited (${signal ?? code})`));
    child.stdin.on('error', () => {});
    child.stdout.on('data', (chunk: Buffer) => this.#read(chunk));
    child.stdout.on('end', () => {
      const last = this.#stdout.end();
      if (last !== null && last.cut === 0) this.#message(last.text);
    });
    const stderr = new StderrLog(log);
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stderr.on('end', () => stderr.end());
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(text: string): boolean {
    const stdin = this.#child.stdin;
    if (this.#closed || stdin.destroyed) return false;
    if (stdin.writableLength > maxMessageBytes) {
      // The server stopped reading its stdin: what clients send would pile up in the gateway
      // (a notification is answered 202 at once). The session ends, as for an endless stdout line.
      this.#log(`session closed: the server has not read ${maxMessageBytes / 1024 / 1024} MiB sent to its stdin`);
      this.#finish(`${this.#spec.cmd} does not read its stdin`);
      this.close();
      return false;
    }
    // One message per line: JSON.stringify never emits raw newlines, but a client body may.
    stdin.write(`${text.replace(/\r?\n/g, ' ')}\n`);
    return true;
  }

  close(): void {
    this.#closed = true;
    if (this.#killed) return;
    this.#killed = true;
    this.#child.stdin.end();
    this.#child.kill('SIGTERM');
    // A server that ignores SIGTERM is not left behind.
    setTimeout(() => {
      if (!this.#exited) this.#child.kill('SIGKILL');
    }, 2_000).unref();
  }

  async closeAndWait(): Promise<void> {
    if (this.#exited || this.#child.exitCode !== null || this.#child.pid === undefined) return;
    this.close();
    await this.#exit;
  }

  /** Once: a gateway-side close reports when the process is gone; a broken stdout at once. */
  #finish(reason: string): void {
    this.#closed = true;
    if (this.#reported) return;
    this.#reported = true;
    this.onClose(reason);
  }

  #read(chunk: Buffer): void {
    for (const line of this.#stdout.push(chunk)) {
      if (line.cut > 0) {
        this.#tooLong();
        return;
      }
      this.#message(line.text);
    }
    if (this.#stdout.cutting > 0) this.#tooLong();
  }

  #tooLong(): void {
    const mib = maxMessageBytes / 1024 / 1024;
    this.#log(`session closed: stdout line longer than ${mib} MiB`);
    // What it writes from here on is not read, let alone held.
    this.#child.stdout.destroy();
    this.#finish(`${this.#spec.cmd} wrote a stdout line (one message) longer than ${mib} MiB`);
    this.close();
  }

  #message(text: string): void {
    if (text.trim() !== '') this.onMessage(text);
  }
}
