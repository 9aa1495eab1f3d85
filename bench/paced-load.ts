// An open-loop load generator for latency at a fixed offered rate: requests are due at
// start + i/rate whatever the answers do, go out on whichever keep-alive connection is idle
// (queued when none is), and each latency is measured from when the request was due, so a
// stall shows in the figures instead of quietly lowering the rate (no coordinated omission).
// wrk cannot hold a rate (wrk2 is not in Debian), and autocannon's `overallRate` is a quota
// per connection per second: each connection sends back to back until it has made its share,
// then waits for the next second, so its latencies are those of a saturated proxy.
//
// Requests due within one timer tick (1 ms) leave together. HTTP/1.1 answers with a
// content-length only (what the stub, the gateway and HAProxy send for these requests).
//
//   node dist/bench/paced-load.js '<json: PacedSpec>'    prints one line: PACEDJSON {…PacedResult}

import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { histogramOf, type LatencyHistogram } from './latency-histogram.js';

export interface PacedSpec {
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  /** a different bearer token on every request, walked in order from this file */
  readonly tokensFile?: string;
  readonly tokensStart?: number;
  /** requests per second */
  readonly rate: number;
  readonly seconds: number;
  readonly connections: number;
}

export interface PacedResult {
  /** requests due (and sent) */
  readonly sent: number;
  /** answered with 2xx */
  readonly ok: number;
  readonly non2xx: number;
  /** requests lost to a broken connection or an answer this client cannot read */
  readonly errors: number;
  /** answers that had not arrived 5 s after the last request was due */
  readonly unanswered: number;
  readonly seconds: number;
  /** latency from when each request was due to its answer's last byte, ms */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** how late this generator sent requests (its own timer lag), 99th percentile, ms */
  readonly sendLagP99Ms: number;
  /** every latency, ms, to pool runs (latency-histogram.ts) */
  readonly histogram: LatencyHistogram;
}

const HEAD_END = Buffer.from('\r\n\r\n');

interface Conn {
  readonly socket: Socket;
  /** when the request in flight was due (ns), or -1 when idle */
  dueNs: number;
  pending: Buffer | null;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export async function pacedLoad(spec: PacedSpec): Promise<PacedResult> {
  const url = new URL(spec.url);
  const path = `${url.pathname}${url.search}`;
  const total = Math.max(1, Math.round(spec.rate * spec.seconds));
  const tokens = spec.tokensFile === undefined ? null : readFileSync(spec.tokensFile, 'utf8').split('\n').filter((l) => l !== '');
  let headText = '';
  for (const [k, v] of Object.entries(spec.headers)) if (tokens === null || k.toLowerCase() !== 'authorization') headText += `${k}: ${v}\r\n`;
  const start = `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\n${headText}Content-Length: ${Buffer.byteLength(spec.body)}\r\n`;
  const fixed = Buffer.from(`${start}\r\n${spec.body}`);
  let tokenAt = spec.tokensStart ?? 0;
  const requestBytes = (): Buffer => {
    if (tokens === null) return fixed;
    const token = tokens[tokenAt++ % tokens.length] ?? '';
    return Buffer.from(`${start}Authorization: Bearer ${token}\r\n\r\n${spec.body}`);
  };

  const latencies = new Float64Array(total);
  const lags = new Float64Array(total);
  let answered = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const idle: Conn[] = [];
  /** due times (ns) of requests waiting for an idle connection */
  const queue: number[] = [];
  let queueHead = 0;
  let settle: () => void = () => {};
  const allDone = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const finished = (): void => {
    if (answered + errors >= total) settle();
  };

  const send = (c: Conn, dueNs: number): void => {
    c.dueNs = dueNs;
    c.socket.write(requestBytes());
  };
  const release = (c: Conn): void => {
    c.dueNs = -1;
    if (queueHead < queue.length) send(c, queue[queueHead++] ?? 0);
    else idle.push(c);
  };
  const open = (): Conn => {
    const socket = connect(Number(url.port || '80'), url.hostname);
    socket.setNoDelay(true);
    const c: Conn = { socket, dueNs: -1, pending: null };
    socket.on('data', (chunk: Buffer) => {
      const buf = c.pending === null ? chunk : Buffer.concat([c.pending, chunk]);
      const end = buf.indexOf(HEAD_END);
      if (end < 0) {
        c.pending = buf;
        return;
      }
      const head = buf.toString('latin1', 0, end);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (length?.[1] === undefined) {
        socket.destroy(new Error(`an answer without content-length: ${head.slice(0, 200)}`));
        return;
      }
      if (buf.length < end + 4 + Number(length[1])) {
        c.pending = buf;
        return;
      }
      c.pending = null;
      const status = Number(head.slice(9, 12));
      if (c.dueNs >= 0) {
        latencies[answered++] = Number(process.hrtime.bigint()) - c.dueNs;
        if (status >= 200 && status < 300) ok++;
        else non2xx++;
      }
      release(c);
      finished();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      const i = idle.indexOf(c);
      if (i >= 0) idle.splice(i, 1);
      if (c.dueNs >= 0) {
        errors++;
        c.dueNs = -1;
        finished();
      }
    });
    return c;
  };
  const conns = Array.from({ length: spec.connections }, open);
  await Promise.all(conns.map((c) => new Promise<void>((resolve, reject) => c.socket.once('connect', resolve).once('error', reject))));
  idle.push(...conns);

  const t0 = Number(process.hrtime.bigint());
  const intervalNs = 1e9 / spec.rate;
  let due = 0;
  const tick = (): void => {
    const now = Number(process.hrtime.bigint());
    while (due < total && t0 + due * intervalNs <= now) {
      const dueNs = t0 + due * intervalNs;
      lags[due] = now - dueNs;
      due++;
      const c = idle.pop();
      if (c === undefined) queue.push(dueNs);
      else send(c, dueNs);
    }
    if (due >= total) clearInterval(timer);
  };
  const timer = setInterval(tick, 1);
  tick();
  const waited = await Promise.race([allDone.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), spec.seconds * 1000 + 5000))]);
  clearInterval(timer);
  const seconds = (Number(process.hrtime.bigint()) - t0) / 1e9;
  for (const c of conns) c.socket.destroy();
  const sorted = latencies.slice(0, answered).sort();
  const lagSorted = lags.slice(0, due).sort();
  const ms = (ns: number): number => ns / 1e6;
  return {
    sent: due,
    ok,
    non2xx,
    errors,
    unanswered: waited ? 0 : due - answered - errors,
    seconds,
    p50Ms: ms(percentile(sorted, 50)),
    p90Ms: ms(percentile(sorted, 90)),
    p99Ms: ms(percentile(sorted, 99)),
    p999Ms: ms(percentile(sorted, 99.9)),
    maxMs: ms(sorted[sorted.length - 1] ?? 0),
    sendLagP99Ms: ms(percentile(lagSorted, 99)),
    histogram: histogramOf(Array.from(sorted, ms)),
  };
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string');
}

function isPacedSpec(v: unknown): v is PacedSpec {
  if (typeof v !== 'object' || v === null) return false;
  const o: Record<string, unknown> = { ...v };
  const positive = (k: string): boolean => typeof o[k] === 'number' && Number(o[k]) > 0;
  return (
    typeof o['url'] === 'string' &&
    typeof o['body'] === 'string' &&
    isStringRecord(o['headers']) &&
    (o['tokensFile'] === undefined || typeof o['tokensFile'] === 'string') &&
    (o['tokensStart'] === undefined || typeof o['tokensStart'] === 'number') &&
    positive('rate') &&
    positive('seconds') &&
    positive('connections')
  );
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const spec: unknown = JSON.parse(process.argv[2] ?? '{}');
  if (!isPacedSpec(spec)) throw new Error('usage: paced-load.js <json: url, body, headers, rate, seconds, connections[, tokensFile, tokensStart]>');
  const result = await pacedLoad(spec);
  process.stdout.write(`PACEDJSON ${JSON.stringify(result)}\n`);
  process.exit(0);
}
