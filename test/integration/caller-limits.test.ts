// One caller cannot starve the others of an upstream: past config.upstreamCallsPerCaller calls in
// flight (or upstreamStreamsPerCaller GET streams) to one upstream, its next request is refused at
// once with 429 and a JSON-RPC error, while other callers' calls go on as before.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import type { CleanupHost } from '../helpers/files.js';
import { gatewayYaml, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { openEventStream } from '../helpers/event-stream.js';
import { errorOf, mcpFetch, resultOf, rpc } from '../helpers/mcp-http.js';
import { resultFor, sendJson, startStub } from '../helpers/stub-upstream.js';

interface SlowUpstream {
  readonly url: string;
  /** calls of the `slow` tool that have arrived and wait */
  readonly waiting: () => number;
  /** resolves once `n` slow calls are waiting */
  readonly until: (n: number) => Promise<void>;
  readonly releaseAll: () => void;
}

/** Answers tools/call `slow` only when released, everything else at once. */
async function startSlowUpstream(t: CleanupHost): Promise<SlowUpstream> {
  const held: Array<() => void> = [];
  const watchers: Array<() => void> = [];
  const { url, close } = await startStub(null, (req, res) => {
    if (req.method === 'GET') {
      // an event stream that stays open
      res.writeHead(200, { 'content-type': 'text/event-stream' }).write(': open\n\n');
      return;
    }
    const params = req.message?.['params'];
    const name = typeof params === 'object' && params !== null ? Object.fromEntries(Object.entries(params))['name'] : undefined;
    const answer = (): void => sendJson(res, resultFor(req, { content: [{ type: 'text', text: String(name) }] }));
    if (name === 'slow') {
      held.push(answer);
      for (const w of watchers.splice(0)) w();
    } else answer();
  });
  t.after(async () => {
    for (const answer of held.splice(0)) answer();
    await close();
  });
  return {
    url,
    waiting: () => held.length,
    until: async (n) => {
      while (held.length < n) await new Promise<void>((resolve) => watchers.push(resolve));
    },
    releaseAll: () => {
      for (const answer of held.splice(0)) answer();
    },
  };
}

const limits = (calls: number, streams: number): string => `config:\n  upstreamCallsPerCaller: ${calls}\n  upstreamStreamsPerCaller: ${streams}\n`;

test('a caller at its limit of calls to an upstream gets 429 at once; another caller is served meanwhile; the slots come back', async (t) => {
  const keys = await labKeys(t);
  const up = await startSlowUpstream(t);
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url }) + limits(4, 4) });
  const call = (token: string, id: number, name: string): ReturnType<typeof mcpFetch> => mcpFetch(gw.url, rpc(id, 'tools/call', { name, arguments: {} }), { token });

  const slow = [1, 2, 3, 4].map((id) => call(keys.jsmith, id, 'slow'));
  await up.until(4);
  const refused = await call(keys.jsmith, 5, 'fast');
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.deepEqual(errorOf(refused), { code: -32603, message: 'Too many requests: this caller already has 4 calls in flight to this upstream' });
  assert.match(await gw.log.waitFor(/http\.status=429/), /error="too many requests: this caller already has 4 calls in flight to this upstream"/);
  assert.equal(up.waiting(), 4, 'the refused call never reached the upstream');

  // Another caller's calls are not held up by the first one's.
  for (let id = 10; id < 20; id++) assert.equal(toolText(await call(keys.admin, id, 'fast')), 'fast');

  up.releaseAll();
  for (const reply of await Promise.all(slow)) assert.equal(reply.status, 200);
  // Every slot given back: the first caller may hold four again.
  const again = [30, 31, 32, 33].map((id) => call(keys.jsmith, id, 'slow'));
  await up.until(4);
  up.releaseAll();
  for (const reply of await Promise.all(again)) assert.equal(reply.status, 200);
  assert.match(await gw.gateway.metrics.render(), /portcullis_upstream_caller_limited_total\{kind="calls"\} 1/);
});

test('without a token, callers are told apart by their address; a refused slot is not taken', async (t) => {
  const up = await startSlowUpstream(t);
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'up', mcp: { host: up.url } }] } }] }] }] }] }) + limits(2, 2);
  const gw = await startTestGateway(t, { configText });
  const slow = [1, 2].map((id) => mcpFetch(gw.url, rpc(id, 'tools/call', { name: 'slow', arguments: {} })));
  await up.until(2);
  for (let i = 0; i < 5; i++) assert.equal((await mcpFetch(gw.url, rpc(10 + i, 'ping'))).status, 429);
  up.releaseAll();
  await Promise.all(slow);
  assert.equal((await mcpFetch(gw.url, rpc(20, 'ping'))).status, 200);
});

test('GET event streams count apart from calls: past the limit a caller gets 429, others and its calls go on', async (t) => {
  const keys = await labKeys(t);
  const up = await startSlowUpstream(t);
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url }) + limits(2, 2) });
  const open = (token: string): ReturnType<typeof openEventStream> => openEventStream(gw.url, { method: 'GET', headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } });
  const first = await open(keys.jsmith);
  const second = await open(keys.jsmith);
  assert.deepEqual([first.status, second.status], [200, 200]);
  const third = await open(keys.jsmith);
  assert.equal(third.status, 429);
  third.close();
  const other = await open(keys.admin);
  assert.equal(other.status, 200);
  // calls are counted apart from streams
  assert.equal((await mcpFetch(gw.url, rpc(1, 'ping'), { token: keys.jsmith })).status, 200);
  // a stream the client closes gives its slot back
  first.close();
  const deadline = Date.now() + 10_000;
  for (;;) {
    const next = await open(keys.jsmith);
    next.close();
    if (next.status === 200) break;
    assert.equal(next.status, 429);
    assert.ok(Date.now() < deadline, 'the closed stream\'s slot came back');
  }
  second.close();
  other.close();
  assert.match(await gw.gateway.metrics.render(), /portcullis_upstream_caller_limited_total\{kind="streams"\} [1-9]/);
});

function toolText(reply: Awaited<ReturnType<typeof mcpFetch>>): string {
  const content = resultOf(reply)['content'];
  assert.ok(Array.isArray(content));
  const first: unknown = content[0];
  assert.ok(typeof first === 'object' && first !== null && 'text' in first && typeof first.text === 'string');
  return first.text;
}
