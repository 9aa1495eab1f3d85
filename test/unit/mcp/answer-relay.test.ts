// The answer relay driven by a real HTTP server through a real undici pool (the HTTP transport),
// answering into a sink that records what the client would get.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HeaderList, ResponseSink } from '../../../src/main/http/reply.js';
import { ByteBudget } from '../../../src/main/http/byte-budget.js';
import { answerRelay } from '../../../src/main/mcp/answer-relay.js';
import { HttpPools } from '../../../src/main/upstream/http-transport.js';
import { startStub } from '../../helpers/stub-upstream.js';

class RecordingSink implements ResponseSink {
  open = true;
  headSent = false;
  destroyed = false;
  sent: { status: number; body: string } | null = null;
  readonly #closers: Array<(aborted: boolean) => void> = [];
  onClose(cb: (aborted: boolean) => void): () => void {
    this.#closers.push(cb);
    return () => {};
  }
  #end(aborted: boolean): void {
    this.open = false;
    for (const cb of this.#closers.splice(0)) cb(aborted);
  }
  send(status: number, _headers: HeaderList, body: string | Uint8Array = ''): void {
    this.headSent = true;
    this.sent = { status, body: typeof body === 'string' ? body : Buffer.from(body).toString('utf8') };
    this.#end(false);
  }
  head(): void {
    this.headSent = true;
  }
  headStream(): void {
    this.headSent = true;
  }
  start(): boolean {
    this.headSent = true;
    return true;
  }
  write(): boolean {
    return true;
  }
  onDrain(cb: () => void): void {
    cb();
  }
  finish(): void {
    this.#end(false);
  }
  destroy(): void {
    this.destroyed = true;
    this.#end(true);
  }
}

test('a filter that fails before anything is sent gets the client an error answer, never the unfiltered list', async (t) => {
  const upstream = await startStub(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"secret"}]}}'));
  const pools = new HttpPools();
  t.after(() => pools.close());
  const transport = pools.transport(upstream.url, null);
  const sink = new RecordingSink();
  const failures: unknown[] = [];
  const relay = answerRelay({
    reply: sink,
    held: new ByteBudget(1024 * 1024).account(),
    onHead: () => ({ headers: [['content-type', 'application/json']], mode: { kind: 'collect', finish: () => Promise.reject(new Error('the pool is overloaded')) } }),
    onFailure: (err) => failures.push(err),
    onFilterFailure: (err) => sink.send(503, [], `refused: ${err instanceof Error ? err.message : String(err)}`),
  });
  const body = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
  transport.send({ method: 'POST', sessionId: undefined, headers: { 'content-type': 'application/json' }, query: [], body, message: null, owner: () => '' }, relay.handler);
  await relay.done;
  assert.deepEqual(sink.sent, { status: 503, body: 'refused: the pool is overloaded' });
  assert.equal(sink.destroyed, false);
  assert.deepEqual(failures, []);
});

type Finish = (body: Buffer) => { body: string | null } | Promise<{ body: string | null }>;

/** The stub's list through a relay whose collect mode ends with `finish`: what the client got. */
async function collectedThrough(t: { after(fn: () => unknown): void }, finish: Finish): Promise<RecordingSink> {
  const upstream = await startStub(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"secret"}]}}'));
  const pools = new HttpPools();
  t.after(() => pools.close());
  const transport = pools.transport(upstream.url, null);
  const sink = new RecordingSink();
  const relay = answerRelay({
    reply: sink,
    held: new ByteBudget(1024 * 1024).account(),
    onHead: () => ({ headers: [['content-type', 'application/json']], mode: { kind: 'collect', finish } }),
    onFailure: (err) => assert.fail(`no failure expected: ${String(err)}`),
    onFilterFailure: (err) => sink.send(503, [], `refused: ${err instanceof Error ? err.message : String(err)}`),
  });
  const body = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
  transport.send({ method: 'POST', sessionId: undefined, headers: { 'content-type': 'application/json' }, query: [], body, message: null, owner: () => '' }, relay.handler);
  await relay.done;
  return sink;
}

test('a filter that throws where it runs (no promise) gets the client an error answer, never the unfiltered list', async (t) => {
  const sink = await collectedThrough(t, () => {
    throw new Error('no rule set');
  });
  assert.deepEqual(sink.sent, { status: 503, body: 'refused: no rule set' });
  assert.equal(sink.destroyed, false);
});

test('a collected answer is sent as the filter returns it, whether it has it at hand or it waits', async (t) => {
  const filtered = '{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}';
  const unchanged = '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"secret"}]}}';
  const later = <T>(v: T): Promise<T> => new Promise((resolve) => setImmediate(() => resolve(v)));
  assert.deepEqual((await collectedThrough(t, () => ({ body: filtered }))).sent, { status: 200, body: filtered });
  assert.deepEqual((await collectedThrough(t, () => ({ body: null }))).sent, { status: 200, body: unchanged });
  assert.deepEqual((await collectedThrough(t, () => later({ body: filtered }))).sent, { status: 200, body: filtered });
  assert.deepEqual((await collectedThrough(t, () => later({ body: null }))).sent, { status: 200, body: unchanged });
  const rejected = await collectedThrough(t, () => new Promise((_resolve, reject) => setImmediate(() => reject(new Error('worker died')))));
  assert.deepEqual(rejected.sent, { status: 503, body: 'refused: worker died' });
});
