// Requests a client can malform on purpose: none may take the gateway down or get past it.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { mcpFetch, notification, rpc } from '../helpers/mcp-http.js';
import { rawExchange } from '../helpers/raw-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';

test('a malformed percent-encoding in the query is no route match, and a malformed legacy session id a 400', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const target = { mcp: { targets: [{ name: 'up', mcp: { host: up.url } }] } };
  const configText = stringify({
    binds: [
      {
        port: 0,
        listeners: [
          {
            routes: [
              { name: 'tenant-a', matches: [{ path: { pathPrefix: '/' }, query: [{ name: 'tenant', value: { exact: 'a' } }] }], backends: [target] },
              { name: 'other', backends: [target] },
            ],
          },
        ],
      },
    ],
  });
  const gw = await startTestGateway(t, { configText });
  for (const query of ['%zz=1', 'tenant=%E0%A4%A', 'tenant%=a', 'x=1&tenant=%zz']) {
    const reply = await mcpFetch(`${gw.url}?${query}`, rpc(1, 'ping'));
    assert.equal(reply.status, 200, query);
    assert.match(gw.log.lines.filter((l) => l.includes('route=')).at(-1) ?? '', /route=other/, query);
  }
  // still routed where a good pair matches after a bad one
  const matched = await mcpFetch(`${gw.url}?%zz=1&tenant=a`, rpc(2, 'ping'));
  assert.equal(matched.status, 200);
  assert.match(gw.log.lines.filter((l) => l.includes('route=')).at(-1) ?? '', /route=tenant-a/);

  const legacy = await fetch(`${gw.url.replace(/\/mcp$/, '/sse')}?sessionId=%zz`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify(rpc(3, 'ping')),
  });
  assert.equal(legacy.status, 400);
  assert.equal(await legacy.text(), 'failed to process session_id');
  assert.equal(gw.log.lines.some((l) => l.includes('request failed')), false);
});

test('a call sent as a notification is refused and never reaches the upstream', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'up', mcp: { host: up.url } }] } }] }] }] }] });
  const gw = await startTestGateway(t, { configText });
  for (const method of ['tools/call', 'prompts/get', 'resources/read']) {
    const reply = await mcpFetch(gw.url, { ...notification(method), params: { name: 'secret', uri: 'file:///secret', arguments: {} } });
    assert.equal(reply.status, 400, method);
    assert.match(reply.text, new RegExp(`${method} must be a request`), method);
  }
  const ok = await mcpFetch(gw.url, notification('notifications/initialized'));
  assert.equal(ok.status, 202);
  assert.deepEqual(up.requests.map((r) => r.rpcMethod), ['notifications/initialized']);
});

test('a method of the client\'s own spelling is counted as other, and a huge one is cut in the access log', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'up', mcp: { host: up.url } }] } }] }] }] }] });
  const gw = await startTestGateway(t, { configText });
  const huge = `x/${'A'.repeat(100_000)}`;
  for (let i = 0; i < 50; i++) await mcpFetch(gw.url, rpc(i, `made/up/${i}`));
  await mcpFetch(gw.url, rpc(99, huge));
  await mcpFetch(gw.url, rpc(100, 'ping'));
  const metrics = await gw.gateway.metrics.render();
  assert.match(metrics, /portcullis_mcp_requests_total\{method="other"\} 51/);
  assert.match(metrics, /portcullis_mcp_requests_total\{method="ping"\} 1/);
  assert.doesNotMatch(metrics, /made\/up/);
  const line = gw.log.lines.find((l) => l.includes('mcp.method=x/AAAA')) ?? '';
  assert.ok(line.length > 0 && line.length < 2000, `access line of ${line.length} characters`);
});

test('ambiguous body framing (two Content-Lengths that differ, or one beside Transfer-Encoding) is dropped before anything is relayed', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'up', mcp: { host: up.url } }] } }] }] }] }] });
  const gw = await startTestGateway(t, { configText });
  const body = JSON.stringify(rpc(1, 'ping'));
  // uWS reads the first Content-Length (the body as sent); a proxy in front reading the second
  // would take the next request's bytes for this body, and the two would disagree from there.
  const framings = [`Content-Length: ${body.length}\r\nContent-Length: ${body.length + 40}\r\n`, `Transfer-Encoding: chunked\r\nContent-Length: ${body.length}\r\n`];
  const replies: string[] = [];
  for (const framing of framings) {
    const head = `POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n${framing}\r\n`;
    replies.push(await rawExchange(gw.url, Buffer.from(head + body, 'latin1')));
  }
  // On uWS the connection closes unanswered; node:http (the fallback front) answers 400 itself.
  for (const reply of replies) assert.ok(reply === '' || reply.startsWith('HTTP/1.1 400 '), reply);
  assert.deepEqual(up.requests, [], 'a request with ambiguous framing reached the upstream');
  // uWS hands the gateway the first case, which it refuses and logs.
  if (replies[0] === '') assert.ok(gw.log.lines.some((l) => l.includes('error="bad request: conflicting Content-Length fields"')));
  // The gateway is still up, and serves a well-framed request.
  assert.equal((await mcpFetch(gw.url, rpc(3, 'ping'))).status, 200);
});

test('a Transfer-Encoding other than one plain chunked (xchunked, chunked, identity, gzip, chunked, two fields) is dropped before anything is relayed', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'up', mcp: { host: up.url } }] } }] }] }] }] });
  const gw = await startTestGateway(t, { configText });
  const body = JSON.stringify(rpc(1, 'ping'));
  const chunkedBody = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const send = (codings: string): Promise<string> =>
    rawExchange(gw.url, `POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nConnection: close\r\n${codings}\r\n${chunkedBody}`);
  // uWS reads each of these as chunked; a proxy in front may not (RFC 9112 §6.1)
  for (const codings of ['xchunked', 'chunked, identity', 'identity', 'gzip, chunked', 'chunked;x=1', 'chunked\r\nTransfer-Encoding: chunked']) {
    const reply = await send(`Transfer-Encoding: ${codings}\r\n`);
    // On uWS the connection closes unanswered; node:http (the fallback front) answers 400 itself.
    assert.ok(reply === '' || reply.startsWith('HTTP/1.1 400 '), `${codings}: ${reply}`);
  }
  assert.deepEqual(up.requests, [], 'a request with a doubtful transfer coding reached the upstream');
  // one plain chunked, in any case, is served
  for (const codings of ['chunked', 'Chunked']) assert.match(await send(`Transfer-Encoding: ${codings}\r\n`), /^HTTP\/1\.1 200 /);
  assert.equal(up.requests.length, 2);
});

test('HEAD is refused (405) with headers only: the connection stays usable for the next request', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'up', mcp: { host: up.url } }] } }] }] }] }] });
  const gw = await startTestGateway(t, { configText });
  const { hostname, port } = new URL(gw.url);
  const body = JSON.stringify(rpc(1, 'ping'));
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write('HEAD /mcp HTTP/1.1\r\nHost: x\r\n\r\n'));
    let text = '';
    let sentSecond = false;
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      // Once the HEAD answer's head is in, the next request goes on the same connection: a body
      // sent after that head would be read as the start of the next answer.
      if (!sentSecond && text.includes('\r\n\r\n')) {
        sentSecond = true;
        socket.write(`POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      }
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
  const [head405 = '', rest = ''] = reply.split(/\r\n\r\n(?=HTTP\/1\.1 )/);
  assert.match(head405, /^HTTP\/1\.1 405 /);
  assert.match(head405, /\r\nallow: GET, POST, DELETE/i);
  assert.ok(head405.split('\r\n\r\n')[1] === undefined || head405.split('\r\n\r\n')[1] === '', `a body followed the HEAD answer: ${JSON.stringify(head405)}`);
  assert.match(rest, /^HTTP\/1\.1 200 /, reply);
});
