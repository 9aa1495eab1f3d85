// config.bufferBudgetBytes: what all requests in flight hold in memory at once (bodies being
// read, answers held whole) is bounded. Past it a request gets 503 with Retry-After, an answer
// that need not be held is relayed as it comes, and every byte is given back afterwards.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { gatewayYaml, labKeys, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { mcpFetch, rpc } from '../helpers/mcp-http.js';
import { resultFor, sendJson, startStub, type StubUpstream } from '../helpers/stub-upstream.js';

const BUDGET = 200_000;
const MAX_BODY = 150_000;
const budgetConfig = `config:\n  maxBufferSize: ${MAX_BODY}\n  bufferBudgetBytes: ${BUDGET}\n`;

const bigText = 'x'.repeat(300_000);

/** Answers tools/call with a 300 KB result, anything else with a short one. */
function startUpstream(): Promise<StubUpstream> {
  return startStub(null, (req, res) => sendJson(res, resultFor(req, req.rpcMethod === 'tools/call' ? { content: [{ type: 'text', text: bigText }] } : {})));
}

async function metric(gw: TestGateway, name: string): Promise<number> {
  const line = (await gw.gateway.metrics.render()).split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line !== undefined, `${name} is exported`);
  return Number(line.slice(name.length + 1));
}

/** Waits (bounded) until the gateway holds at least `bytes`: it has read that much of a body. */
async function untilHeld(gw: TestGateway, bytes: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await metric(gw, 'portcullis_buffered_bytes')) < bytes) {
    if (Date.now() > deadline) assert.fail(`the gateway did not come to hold ${bytes} bytes`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const callBody = (pad: number): string => JSON.stringify({ ...rpc(7, 'tools/call', { name: 'echo', arguments: { pad: 'p'.repeat(pad) } }) });

test('an answer to be filtered that does not fit the budget is refused with 503 and Retry-After; unfiltered, the same answer is relayed whole; nothing stays counted', async (t) => {
  const keys = await labKeys(t);
  const up = await startUpstream();
  t.after(() => up.close());
  const filtered = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url, rules: ['true'] }) + budgetConfig });
  const refused = await mcpFetch(filtered.url, rpc(7, 'tools/call', { name: 'echo', arguments: {} }), { token: keys.admin });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.deepEqual(refused.messages.map((m) => m['id']), [7]);
  assert.ok(!refused.text.includes(bigText.slice(0, 1000)), 'no part of the answer reaches the client');
  assert.match(await filtered.log.waitFor(/http\.status=503/), /buffer budget exhausted/);
  assert.equal(await metric(filtered, 'portcullis_buffer_budget_refusals_total'), 1);
  assert.equal(await metric(filtered, 'portcullis_buffered_bytes'), 0);
  // a small answer on the same gateway is held and filtered as usual
  const small = await mcpFetch(filtered.url, rpc(8, 'ping'), { token: keys.admin });
  assert.equal(small.status, 200);
  assert.equal(await metric(filtered, 'portcullis_buffered_bytes'), 0);

  const relaying = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url }) + budgetConfig });
  const relayed = await mcpFetch(relaying.url, rpc(9, 'tools/call', { name: 'echo', arguments: {} }), { token: keys.admin });
  assert.equal(relayed.status, 200);
  assert.equal(relayed.text, `{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"${bigText}"}]}}`);
  // held until it did not fit, then streamed: counted once as a refusal
  assert.equal(await metric(relaying, 'portcullis_buffer_budget_refusals_total'), 1);
  assert.equal(await metric(relaying, 'portcullis_buffered_bytes'), 0);
});

test('a body that would take the bodies held past the budget gets 503; the one held meanwhile is answered once complete', async (t) => {
  const keys = await labKeys(t);
  const up = await startUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url }) + budgetConfig });
  const url = new URL(gw.url);

  // The first body arrives in part and is held: 140 KB of 145 KB.
  const first = callBody(145_000);
  const firstBytes = Buffer.byteLength(first);
  const firstReq = request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${keys.admin}`, 'content-length': String(firstBytes) },
  });
  const firstAnswer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    firstReq.once('response', (res: IncomingMessage) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    firstReq.once('error', reject);
  });
  firstReq.write(first.slice(0, 140_000));
  await untilHeld(gw, 140_000);

  // A second body of 100 KB does not fit beside it.
  const second = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${keys.admin}`, connection: 'close' },
    body: callBody(100_000),
  });
  assert.equal(second.status, 503);
  assert.equal(second.headers.get('retry-after'), '1');
  await second.text();

  firstReq.end(first.slice(140_000));
  const answered = await firstAnswer;
  assert.equal(answered.status, 200);
  assert.match(answered.text, /^\{"jsonrpc":"2\.0","id":7,"result":/);
  // Everything given back: a body as large as the second one now fits.
  assert.equal(await metric(gw, 'portcullis_buffered_bytes'), 0);
  const again = await mcpFetch(gw.url, { ...rpc(10, 'tools/call', { name: 'echo', arguments: { pad: 'p'.repeat(100_000) } }) }, { token: keys.admin });
  assert.equal(again.status, 200);
});

test('a budget below maxBufferSize is a config error naming both', async (t) => {
  const keys = await labKeys(t);
  await assert.rejects(
    startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: 'http://127.0.0.1:9/mcp' }) + 'config:\n  maxBufferSize: 4096\n  bufferBudgetBytes: 1024\n' }),
    /config\.bufferBudgetBytes: expected at least config\.maxBufferSize \(4096\)/,
  );
});

test('maxBufferSize is read at start, like the budget sized against it: a reload that raises both changes neither', async (t) => {
  const keys = await labKeys(t);
  const up = await startUpstream();
  t.after(() => up.close());
  const configFile = join(keys.dir, 'config.yaml');
  const yaml = gatewayYaml({ upstreamUrl: up.url });
  await writeFile(configFile, `${yaml}config:\n  maxBufferSize: 4096\n  bufferBudgetBytes: 8192\n`);
  const gw = await startTestGateway(t, { cwd: keys.dir, configFile, watch: false });
  const body = { ...rpc(11, 'ping', { pad: 'p'.repeat(10_000) }) };
  assert.equal((await mcpFetch(gw.url, body, { token: keys.admin })).status, 413);

  await writeFile(configFile, `${yaml}config:\n  maxBufferSize: 16384\n  bufferBudgetBytes: 32768\n`);
  assert.deepEqual(await gw.gateway.reload(), { ok: true });
  // Not a 503 "retry" that no retry could ever get past: the budget of the start holds 8192 bytes.
  const after = await mcpFetch(gw.url, body, { token: keys.admin });
  assert.equal(after.status, 413, after.text);
  assert.equal(await metric(gw, 'portcullis_buffer_budget_refusals_total'), 0);
});
