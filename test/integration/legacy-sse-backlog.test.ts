// A legacy HTTP+SSE client's POSTs are answered 202 at once and relayed afterwards: a session
// may have only so many in flight (past that, 429), and those in flight count among the
// gateway's in-flight requests, so a graceful close() lets them finish.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maxPostsInFlight } from '../../src/main/mcp/legacy-sse.js';
import type { CleanupHost } from '../helpers/files.js';
import { openEventStream, type EventStream } from '../helpers/event-stream.js';
import { gatewayYaml, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { resultFor, sendJson, startStub } from '../helpers/stub-upstream.js';

interface HoldingUpstream {
  readonly url: string;
  /** settles once `count` tools/call requests have arrived (held, until releaseAll) */
  holding(count: number): Promise<void>;
  /** answers every held call, and those still to come */
  releaseAll(): void;
}

/** Answers tools/call only once released; anything else at once. */
async function startHoldingUpstream(t: CleanupHost): Promise<HoldingUpstream> {
  const held: Array<() => void> = [];
  let released = false;
  const stub = await startStub(t, (req, res) => {
    const answer = (): void => sendJson(res, resultFor(req, { content: [{ type: 'text', text: 'done' }] }));
    if (req.rpcMethod !== 'tools/call' || released) answer();
    else held.push(answer);
  });
  return {
    url: stub.url,
    holding: (count) => stub.arrived(count, (req) => req.rpcMethod === 'tools/call'),
    releaseAll() {
      released = true;
      for (const answer of held.splice(0)) answer();
    },
  };
}

interface LegacyClient {
  readonly stream: EventStream;
  post(id: number): Promise<Response>;
  /** waits for the answers to these ids on the stream, in any order */
  answers(ids: readonly number[]): Promise<void>;
}

async function openLegacy(gw: TestGateway): Promise<LegacyClient> {
  const base = gw.url.replace(/\/mcp$/, '');
  const stream = await openEventStream(`${base}/sse`, { headers: { accept: 'text/event-stream' } });
  const endpoint = (await stream.until((e) => e.event === 'endpoint')).data ?? '';
  return {
    stream,
    post: (id) =>
      fetch(`${base}${endpoint}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'slow', arguments: {} } }),
      }),
    async answers(ids) {
      const left = new Set(ids);
      while (left.size > 0) {
        const e = await stream.until((ev) => ev.message !== null && 'result' in ev.message);
        left.delete(Number(e.message?.['id']));
      }
    },
  };
}

async function inflightGauge(gw: TestGateway): Promise<number> {
  const m = /^portcullis_inflight_requests (\d+)$/m.exec(await gw.gateway.metrics.render());
  return Number(m?.[1]);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

test(`a legacy session has at most ${maxPostsInFlight} messages in flight: the next gets 429 until some are answered`, async (t) => {
  const upstream = await startHoldingUpstream(t);
  const gw = await startTestGateway(t, { configText: gatewayYaml({ upstreamUrl: upstream.url, mode: null }) });
  const client = await openLegacy(gw);
  t.after(() => client.stream.close());

  const first = await Promise.all(range(0, maxPostsInFlight).map(async (id) => (await client.post(id)).status));
  assert.deepEqual(new Set(first), new Set([202]));
  const refused = await client.post(maxPostsInFlight);
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.match(await refused.text(), new RegExp(`${maxPostsInFlight} messages of this session are still being answered`));
  // The GET stream and every message in flight.
  assert.equal(await inflightGauge(gw), 1 + maxPostsInFlight);

  await upstream.holding(maxPostsInFlight);
  upstream.releaseAll();
  await client.answers(range(0, maxPostsInFlight));
  const again = await client.post(100);
  assert.equal(again.status, 202, 'answered messages free their places');
  await client.answers([100]);
});

test('close() lets the legacy messages in flight finish and their answers reach the stream', async (t) => {
  const upstream = await startHoldingUpstream(t);
  const gw = await startTestGateway(t, { configText: gatewayYaml({ upstreamUrl: upstream.url, mode: null }) });
  const client = await openLegacy(gw);
  t.after(() => client.stream.close());
  const ids = range(0, 5);
  for (const status of await Promise.all(ids.map(async (id) => (await client.post(id)).status))) assert.equal(status, 202);
  await upstream.holding(ids.length);
  assert.equal(await inflightGauge(gw), 1 + ids.length, 'messages relayed after their 202 count as in flight');

  const drainMs = 60_000;
  const started = performance.now();
  let closed = false;
  const closing = gw.gateway.close({ drainMs }).then(() => (closed = true));
  upstream.releaseAll();
  await client.answers(ids);
  assert.equal(closed, false, 'close() waits while the client is still connected');
  client.stream.close();
  await closing;
  assert.ok(performance.now() - started < drainMs / 2, 'close() ends once the stream and its messages are done, not at drainMs');
});
