// The buffer budget's account stays exact whatever the order of refusal, abort and late body
// bytes: a request refused before its body was read (401, 403, 415, 413) holds nothing once
// answered, however its body arrives (with the head, after the answer, in part, never).
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { gatewayYaml, labKeys, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { mcpFetch, rpc } from '../helpers/mcp-http.js';
import { startStatusUpstream } from '../helpers/raw-http.js';

const BUDGET = 400_000;
const MAX_BODY = 150_000;

async function metric(gw: TestGateway, name: string): Promise<number> {
  const line = (await gw.gateway.metrics.render()).split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line !== undefined, `${name} is exported`);
  return Number(line.slice(name.length + 1));
}

/** A connection whose answers are read as they come (latin1 text). */
class Conn {
  readonly socket: Socket;
  #received = '';
  #waiters: Array<() => void> = [];
  readonly closed: Promise<void>;

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect(Number(port), hostname);
    this.socket.on('data', (c: Buffer) => {
      this.#received += c.toString('latin1');
      for (const w of this.#waiters.splice(0)) w();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  write(bytes: string): void {
    this.socket.write(bytes);
  }

  /** Resolves once `n` answer heads have arrived on this connection (or it closed). */
  async answers(n: number): Promise<string[]> {
    let closed = false;
    void this.closed.then(() => {
      closed = true;
      for (const w of this.#waiters.splice(0)) w();
    });
    while (statusLines(this.#received).length < n && !closed) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return statusLines(this.#received);
  }
}

function statusLines(text: string): string[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1] ?? '');
}

function post(headers: Record<string, string>, length: number): string {
  const lines = Object.entries({ host: 'localhost', 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers, 'content-length': String(length) });
  return `POST /mcp HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
}

const probe = 'GET /nothing-here HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n';

test('bodies of refused requests, sent whole, late, in part or never, leave nothing counted; a valid request is served after', async (t) => {
  const keys = await labKeys(t);
  const upstream = await startStatusUpstream(t, 200);
  const config = gatewayYaml({ upstreamUrl: upstream }) + `config:\n  maxBufferSize: ${MAX_BODY}\n  bufferBudgetBytes: ${BUDGET}\n`;
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: config });
  const sizes = [1, 1_000, 64_000, 140_000, 149_999, 400_000, 1_000_000];
  const refusals: ReadonlyArray<readonly [string, Record<string, string>]> = [
    ['401', {}],
    ['401', { authorization: 'Bearer not-a-token' }],
    ['415', { authorization: `Bearer ${keys.admin}`, 'content-type': 'text/plain' }],
  ];

  // head and body in one write; once answered, a request that closes the connection (not
  // pipelined behind the first: uWS closes a connection pipelining behind a pending answer)
  const whole: Array<Promise<void>> = [];
  for (const size of sizes) {
    for (const [status, headers] of refusals) {
      const c = new Conn(gw.url);
      c.write(post(headers, size) + 'x'.repeat(size));
      whole.push(
        c.answers(1).then(async (first) => {
          assert.equal(first[0], status);
          c.write(probe);
          await c.closed;
        }),
      );
    }
  }
  await Promise.all(whole);

  // the body after the answer: head first, the refusal, then every byte, then the probe
  for (const size of sizes) {
    for (const [status, headers] of refusals) {
      const c = new Conn(gw.url);
      c.write(post(headers, size));
      const first = await c.answers(1);
      assert.equal(first[0], status);
      c.write('y'.repeat(size));
      c.write(probe);
      await c.closed;
    }
  }

  // in part, then the client leaves
  const partial: Array<Promise<void>> = [];
  for (const size of sizes) {
    const c = new Conn(gw.url);
    c.write(post({}, size) + 'z'.repeat(Math.floor(size / 2)));
    partial.push(c.answers(1).then(() => void c.socket.destroy()));
  }
  await Promise.all(partial);

  // Every refused byte given back: the whole budget is free again (bounded wait for the
  // aborted connections' close to reach the gateway).
  const deadline = Date.now() + 10_000;
  while ((await metric(gw, 'portcullis_buffered_bytes')) !== 0) {
    assert.ok(Date.now() < deadline, `still counted: ${await metric(gw, 'portcullis_buffered_bytes')} bytes`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const big = await mcpFetch(gw.url, rpc(1, 'ping', { pad: 'p'.repeat(MAX_BODY - 100) }), { token: keys.admin });
  assert.equal(big.status, 200, big.text);
  assert.equal(await metric(gw, 'portcullis_buffered_bytes'), 0);
});

test('a 403 from the route rules with its body sent late leaves nothing counted', async (t) => {
  const keys = await labKeys(t);
  const upstream = await startStatusUpstream(t, 200);
  const config =
    gatewayYaml({ upstreamUrl: upstream }).replace('policies:\n', 'policies:\n              authorization:\n                rules:\n                  - \'jwt.sub == "nobody"\'\n') +
    `config:\n  maxBufferSize: ${MAX_BODY}\n  bufferBudgetBytes: ${BUDGET}\n`;
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: config });
  for (let i = 0; i < 20; i++) {
    const c = new Conn(gw.url);
    c.write(post({ authorization: `Bearer ${keys.jsmith}` }, 100_000));
    assert.deepEqual(await c.answers(1), ['403']);
    c.write('b'.repeat(100_000) + probe);
    await c.closed;
  }
  assert.equal(await metric(gw, 'portcullis_buffered_bytes'), 0);
  const ok = await mcpFetch(gw.url, rpc(2, 'ping', { pad: 'p'.repeat(MAX_BODY - 100) }), { token: keys.jsmith });
  assert.equal(ok.status, 403);
});
