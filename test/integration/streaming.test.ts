// SSE replies are streamed through as they arrive (issue 2, item 5), on POST answers and on the
// GET stream. The upstream here is a stub (stub-upstream.ts) the test steers: it opens an SSE
// answer, sends what the test asks for, and holds the stream until released.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import type { CleanupHost } from '../helpers/files.js';
import { gatewayYaml, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { MCP_ACCEPT } from '../helpers/mcp-http.js';
import { sendStreamHead, startStub } from '../helpers/stub-upstream.js';
import { readUntil } from '../helpers/event-stream.js';

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

/** Open SSE answers of the upstream, oldest first. */
const open: ServerResponse[] = [];
const opened: Array<(res: ServerResponse) => void> = [];
let upstreamUrl = '';
let gw: TestGateway;

function nextOpenStream(): Promise<ServerResponse> {
  const ready = open.shift();
  if (ready !== undefined) return Promise.resolve(ready);
  return new Promise((resolve) => opened.push(resolve));
}

before(async () => {
  // Every request gets an SSE answer whose headers are flushed at once, and no event yet.
  upstreamUrl = (
    await startStub(suite, (_req, res) => {
      sendStreamHead(res);
      const waiter = opened.shift();
      if (waiter !== undefined) waiter(res);
      else open.push(res);
    })
  ).url;
  suite.after(async () => {
    for (const res of open.splice(0)) res.end();
  });
  gw = await startTestGateway(suite, { configText: gatewayYaml({ upstreamUrl, mode: null }) });
});

function event(message: object): string {
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}

/** Resolves with the value, or with 'timeout' after ms (a bound on a wait, not a sleep). */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))]).finally(() => clearTimeout(timer));
}

function post(url: string, body: object): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, connection: 'close' },
    body: JSON.stringify(body),
  });
}

test('events of a POST answer reach the client as the upstream sends them', async () => {
  const answer = post(gw.url, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'slow', arguments: {}, _meta: { progressToken: 7 } } });
  const upstream = await nextOpenStream();
  upstream.write(event({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 7, progress: 1 } }));
  const res = await answer;
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  // The progress event arrives while the upstream still holds the answer open.
  const first = await within(readUntil(reader, 'notifications/progress'), 5000);
  assert.notEqual(first, 'timeout', 'the first event was held back');
  assert.match(String(first), /"progress":1/);
  upstream.end(event({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'done' }] } }));
  const rest = await readUntil(reader, '"done"');
  assert.match(rest, /"result"/);
  await reader.cancel();
});

test(
  "a POST answer's headers reach the client before its first event",
  async () => {
    const answer = post(gw.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow', arguments: {} } });
    const upstream = await nextOpenStream();
    try {
      const res = await within(answer, 2000);
      assert.notEqual(res, 'timeout', 'no response head 2 s after the upstream sent its own');
    } finally {
      upstream.end(event({ jsonrpc: '2.0', id: 2, result: { content: [] } }));
      await (await answer).text();
    }
  },
);

test(
  "the GET stream's headers reach the client before any event",
  async () => {
    const answer = fetch(gw.url, { method: 'GET', headers: { accept: 'text/event-stream', connection: 'close' } });
    const upstream = await nextOpenStream();
    try {
      const res = await within(answer, 2000);
      assert.notEqual(res, 'timeout', 'no response head 2 s after the upstream sent its own');
    } finally {
      upstream.end(event({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'bye' } }));
      await (await answer).text();
    }
  },
);
