// A legacy HTTP+SSE upstream whose `endpoint` event the gateway cannot use (a URL that does not
// parse, a scheme other than http(s)): the client's initialize gets an error answer that says
// why, the access log line names it, and the gateway keeps serving.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { stringify } from 'yaml';
import type { CleanupHost } from '../helpers/files.js';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { errorOf, initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { startStub } from '../helpers/stub-upstream.js';

/**
 * A legacy SSE server whose event stream announces `endpoint` and then stays open; with `later`,
 * the first POST is accepted and answered by announcing `later` as the endpoint instead.
 * Returns its /sse URL.
 */
async function startBadEndpointServer(t: CleanupHost, endpoint: string, later?: string): Promise<string> {
  let stream: ServerResponse | null = null;
  const stub = await startStub(t, (req, res) => {
    if (req.method === 'POST' && later !== undefined) {
      res.writeHead(202).end();
      stream?.write(`event: endpoint\ndata: ${later}\n\n`);
      return;
    }
    if (req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(`event: endpoint\ndata: ${endpoint}\n\n`);
    stream = res;
  });
  return `http://127.0.0.1:${stub.port}/sse`;
}

function sseTargetYaml(url: string): string {
  return stringify({
    binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'legacy', sse: { host: url } }] } }] }] }] }],
  });
}

for (const [label, endpoint, reason] of [
  ['a URL that does not parse', 'http://[::1', /endpoint .*not a valid URL/],
  ['a scheme other than http(s)', 'file:///etc/passwd', /endpoint .*not an http\(s\) URL/],
  ['another origin', 'http://127.0.0.2:9/messages', /endpoint .*on another origin than http:\/\/127\.0\.0\.1:/],
] as const) {
  test(`an endpoint event with ${label} fails the session, not the gateway`, async (t) => {
    const url = await startBadEndpointServer(t, endpoint);
    const gw = await startTestGateway(t, { configText: sseTargetYaml(url) });
    for (let i = 0; i < 2; i++) {
      const from = gw.log.lines.length;
      const res = await mcpFetch(gw.url, initializeRequest());
      assert.equal(res.status, 400);
      assert.match(String(errorOf(res).message), reason);
      assert.match(await gw.log.waitFor(/\trequest .*http\.status=400/, { fromLine: from }), reason);
      assert.match(await gw.log.waitFor(/session closed: endpoint event/, { fromLine: from }), reason);
    }
  });
}

test('an unusable endpoint event later in the session ends that session, not the gateway', async (t) => {
  const url = await startBadEndpointServer(t, '/messages', 'http://[::1');
  const gw = await startTestGateway(t, { configText: sseTargetYaml(url) });
  // The server answers initialize by announcing the broken endpoint: the pending request fails.
  const res = await mcpFetch(gw.url, initializeRequest());
  assert.equal(res.status, 502);
  assert.match(String(errorOf(res).message), /endpoint event is not a valid URL/);
  await gw.log.waitFor(/session closed: endpoint event is not a valid URL/);
  // Still serving: a new session gets as far as the upstream's (again broken) answer.
  assert.equal((await mcpFetch(gw.url, initializeRequest())).status, 502);
});

test('a key in the SSE target URL is in no error answer and no log line', async (t) => {
  const key = 'sse-key-0123456789';
  const url = await startBadEndpointServer(t, 'file:///etc/passwd');
  const gw = await startTestGateway(t, { configText: sseTargetYaml(`${url}?api_key=${key}`) });
  const res = await mcpFetch(gw.url, initializeRequest());
  assert.equal(res.status, 400);
  assert.ok(String(errorOf(res).message).includes(`${url}?api_key=%3Credacted%3E`), res.text);
  await gw.log.waitFor(/session closed: endpoint event/);
  for (const text of [res.text, ...gw.log.lines]) assert.ok(!text.includes(key), text);
});
