// The differential suite, fuzzed: seeded answer byte streams (test/helpers/answer-fuzz.ts) served
// the same way, write for write, to a request from undici and one from the gateway's own client,
// and the outcomes compared. Both read the same status, fields and body, or both fail; where this
// client fails and undici reads an answer, it must be for one of the reasons this client is
// stricter on purpose (response-parser.ts); it never reads an answer undici refuses. The parser
// alone must also find the same in the bytes whole, split where the upstream split them, and one
// byte at a time. PORTCULLIS_FUZZ_CASES=20000 (and PORTCULLIS_FUZZ_SEED) for a longer run.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { H1Error } from '../../../src/main/upstream/h1/errors.js';
import { ResponseParser, type ResponseSink } from '../../../src/main/upstream/h1/response-parser.js';
import { type FuzzCase, fuzzCase, fuzzSettings } from '../../helpers/answer-fuzz.js';
import type { CleanupHost } from '../../helpers/files.js';
import { CLIENTS, exchange, type Outcome, poolsOf, postRequest, type Script, startRawUpstream } from '../../helpers/raw-upstream.js';

const { cases: CASES, seed: SEED } = fuzzSettings(1000, 0x17c1);
const WARM_ANSWER = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
/** cases sent at once (each to both clients) */
const CONCURRENT = 8;
const HANG_MS = 10_000;

/** Writes each piece a turn of the event loop apart (two immediates: the reader's poll phase
 * comes between), so the client reads them apart as a slow or fragmenting upstream sends them. */
function writePieces(socket: Socket, pieces: readonly Buffer[], i = 0): void {
  if (socket.destroyed) return;
  const piece = pieces[i];
  if (piece === undefined) {
    socket.end();
    return;
  }
  socket.write(piece);
  setImmediate(() => setImmediate(() => writePieces(socket, pieces, i + 1)));
}

function scriptFor(c: FuzzCase): Script {
  return (socket, req) => {
    if (req.tag === 'warm') socket.write(WARM_ANSWER);
    else writePieces(socket, c.pieces);
  };
}

/** What this client may refuse that undici reads: the deliberate strictness, seen in the bytes. */
function stricterOnPurpose(ours: Error | null, bytes: Buffer): boolean {
  const message = ours?.message ?? '';
  const text = bytes.toString('latin1');
  if (/Transfer-Encoding other than chunked/.test(message)) return /transfer-encoding/i.test(text);
  if (/invalid status line/.test(message)) return /(^|\n)HTTP\/(?!1\.[01] )/.test(text);
  if (/control character in the reason phrase/.test(message)) return true;
  if (/invalid chunk size or extension/.test(message)) return text.includes(';;');
  return (ours as H1Error | null)?.code === 'GW_UPSTREAM_HEAD_TOO_LARGE' && bytes.length > 64 * 1024;
}

function withDeadline(p: Promise<Outcome>, what: string): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Outcome>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no outcome in ${HANG_MS} ms`)), HANG_MS);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

async function through(t: CleanupHost, client: 'undici' | 'portcullis', c: FuzzCase): Promise<Outcome> {
  const up = await startRawUpstream(t);
  up.script = scriptFor(c);
  const pools = poolsOf(t, client);
  if (c.warm) {
    const warm = await exchange(pools, up.url, postRequest('{}', { 'x-case': 'warm' }));
    assert.equal(warm.ended, 'complete', `${client}, case ${c.id}: the warm-up answer: ${warm.error?.message ?? ''}`);
    // the next request from a later event, as in the gateway (undici reuses a connection only then)
    await new Promise((resolve) => setImmediate(resolve));
  }
  return withDeadline(exchange(pools, up.url, postRequest('{}', { 'x-case': 'fuzz' })), `${client}, case ${c.id}`);
}

function describeCase(c: FuzzCase): string {
  return `case ${c.id} (seed ${SEED}${c.warm ? ', warm connection' : ''}; ${c.notes.join('; ')}): ${JSON.stringify(c.bytes.toString('latin1'))} in ${c.pieces.length} write(s)`;
}

function summary(o: Outcome): string {
  return JSON.stringify({ heads: o.heads, body: o.body.toString('latin1') });
}

/** Empty when both clients agree as the suite requires; else why not. */
function disagreement(c: FuzzCase, undici: Outcome, ours: Outcome): string | null {
  if (undici.late !== 0 || ours.late !== 0) return `calls after the end: undici ${undici.late}, ours ${ours.late}`;
  if (undici.ended === 'error' && ours.ended === 'error') return null;
  if (undici.ended === 'error') return `ours read an answer undici refuses (${undici.error?.message ?? ''})`;
  if (ours.ended === 'error') return stricterOnPurpose(ours.error, c.bytes) ? null : `ours refused an answer undici reads: ${ours.error?.message ?? ''}; undici read ${summary(undici)}`;
  try {
    assert.deepEqual(ours.heads, undici.heads);
    assert.equal(ours.body.toString('latin1'), undici.body.toString('latin1'));
  } catch {
    return `both read it, differently: undici ${summary(undici)}, ours ${summary(ours)}`;
  }
  return null;
}

/** What the parser found in some bytes: its calls in order (body pieces joined), or its error. */
function parse(pieces: readonly Buffer[]): string {
  const events: string[] = [];
  let body = '';
  let answered = false;
  const flushBody = (): void => {
    if (body !== '') events.push(`body ${JSON.stringify(body)}`);
    body = '';
  };
  const sink: ResponseSink = {
    messageBegin: () => !answered,
    head: (status, headers, keepAlive, hintMs) => {
      events.push(`head ${status} ${JSON.stringify(headers.map((h) => (typeof h === 'string' ? h : h.toString('latin1'))))} ${keepAlive} ${hintMs}`);
      return true;
    },
    body: (chunk) => {
      body += chunk.toString('latin1');
      return true;
    },
    end: () => {
      flushBody();
      answered = true;
      events.push('end');
    },
  };
  const parser = new ResponseParser(sink);
  try {
    for (const piece of pieces) parser.push(piece);
    parser.finish();
  } catch (err) {
    flushBody();
    events.push(`error ${(err as H1Error).code}`);
  }
  flushBody();
  return events.join('\n');
}

describe(`HTTP/1.1 client, fuzzed against undici (${CASES} cases, seed ${SEED})`, () => {
  it('both clients read the same answers, or both refuse them; this client only ever more strictly', async (t) => {
    const failures: string[] = [];
    const tally = { complete: 0, error: 0, stricter: 0 };
    for (let from = 0; from < CASES; from += CONCURRENT) {
      const batch = Array.from({ length: Math.min(CONCURRENT, CASES - from) }, (_, i) => fuzzCase(SEED, from + i));
      await Promise.all(
        batch.map(async (c) => {
          const [undici, ours] = await Promise.all(CLIENTS.map((client) => through(t, client, c)));
          if (undici === undefined || ours === undefined) throw new Error('no outcome');
          const why = disagreement(c, undici, ours);
          if (why !== null) failures.push(`${why}\n  ${describeCase(c)}`);
          else if (undici.ended !== ours.ended) tally.stricter++;
          else tally[ours.ended ?? 'error']++;
        }),
      );
    }
    t.diagnostic(`read by both ${tally.complete}, refused by both ${tally.error}, refused by this client only (on purpose) ${tally.stricter}`);
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${CASES} cases disagree`);
  });

  it('the parser finds the same in the bytes whole, in the upstream writes, and one byte at a time', () => {
    const failures: string[] = [];
    for (let id = 0; id < CASES * 5; id++) {
      const c = fuzzCase(SEED, id);
      const whole = parse([c.bytes]);
      const bytewise = parse(Array.from(c.bytes, (b) => Buffer.from([b])));
      const written = parse(c.pieces);
      if (bytewise !== whole || written !== whole) failures.push(`${describeCase(c)}\n  whole:\n${whole}\n  in writes:\n${written}\n  bytewise:\n${bytewise}`);
    }
    assert.deepEqual(failures.slice(0, 5), []);
  });
});
