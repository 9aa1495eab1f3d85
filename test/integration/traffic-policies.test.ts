// Traffic policies through a real gateway: timeout (the whole request, each attempt; a stream
// already flowing is not cut; a stdio call that times out leaves the process's other calls
// alone), retry (what is resent, what never is, x-retry-attempt), localRateLimit (agentgateway's
// shared bucket and headers, Portcullis's per-key buckets, per tool, kept across a reload).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { CleanupHost } from '../helpers/files.js';
import { LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { errorOf, mcpFetch, rpc } from '../helpers/mcp-http.js';
import { openEventStream } from '../helpers/event-stream.js';
import { scriptedStdioEntry } from '../helpers/scripted-server.js';
import { resultFor, sendJson, sseEvent, startStub } from '../helpers/stub-upstream.js';

interface Seen {
  readonly method: string | undefined;
  readonly retryAttempt: string | undefined;
}

interface ScriptedUpstream {
  readonly url: string;
  readonly seen: Seen[];
}

/** An upstream whose answer to each request `script` decides: a status, `silent` (never
 * answers), or `events` (a stream of n events, one per `everyMs`). */
async function scriptedUpstream(t: CleanupHost, script: (seen: Seen, n: number) => number | 'silent' | { readonly events: number; readonly everyMs: number }): Promise<ScriptedUpstream> {
  const seen: Seen[] = [];
  const { url } = await startStub(t, (req, res) => {
    const retry = req.headers['x-retry-attempt'];
    const s: Seen = { method: req.rpcMethod, retryAttempt: typeof retry === 'string' ? retry : undefined };
    seen.push(s);
    const what = script(s, seen.filter((x) => x.method === req.rpcMethod).length);
    if (what === 'silent') return;
    if (typeof what === 'number') {
      sendJson(res, resultFor(req, { status: what }), {}, what);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let sent = 0;
    const tick = setInterval(() => {
      res.write(sseEvent({ jsonrpc: '2.0', method: 'notifications/progress', params: { n: sent } }));
      if (++sent === what.events) {
        clearInterval(tick);
        res.end(sseEvent(resultFor(req, { done: true })));
      }
    }, what.everyMs);
    res.on('close', () => clearInterval(tick));
  });
  return { url, seen };
}

/** One route (no jwtAuth unless `jwt`) with these policies and targets. */
function config(policies: Readonly<Record<string, unknown>>, targets: ReadonlyArray<Readonly<Record<string, unknown>>>, jwt = false): string {
  const jwtAuth = jwt ? { jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' } } } : {};
  return stringify({ binds: [{ port: 0, listeners: [{ routes: [{ policies: { ...jwtAuth, ...policies }, backends: [{ mcp: { targets } }] }] }] }] });
}

describe('timeout', () => {
  it('a silent upstream: 504 within requestTimeout, a JSON-RPC error with the id, the upstream request cancelled', async (t) => {
    const up = await scriptedUpstream(t, () => 'silent');
    const gw = await startTestGateway(t, { configText: config({ timeout: { requestTimeout: '300ms' } }, [{ name: 'u', mcp: { host: up.url } }]) });
    const started = performance.now();
    const reply = await mcpFetch(gw.url, rpc(7, 'tools/call', { name: 'slow', arguments: {} }));
    const took = performance.now() - started;
    assert.equal(reply.status, 504);
    assert.deepEqual(JSON.parse(reply.text), { jsonrpc: '2.0', id: 7, error: { code: -32603, message: 'request timeout', data: { code: 'GW_REQUEST_TIMEOUT' } } });
    assert.ok(took >= 290 && took < 3000, `answered after ${took.toFixed(0)} ms`);
    assert.match(await gw.log.waitFor(/http\.status=504/), /error="request timeout"/);
  });

  it('backendRequestTimeout bounds each attempt: 504 upstream call timeout', async (t) => {
    const up = await scriptedUpstream(t, () => 'silent');
    const gw = await startTestGateway(t, { configText: config({ timeout: { backendRequestTimeout: '200ms' } }, [{ name: 'u', mcp: { host: up.url } }]) });
    const reply = await mcpFetch(gw.url, rpc(1, 'ping'));
    assert.equal(reply.status, 504);
    assert.equal(errorOf(reply).message, 'upstream call timeout');
  });

  it('a target\'s http.requestTimeout bounds its attempts; its neighbour without one is not cut', async (t) => {
    const slow = await scriptedUpstream(t, () => 'silent');
    const fine = await scriptedUpstream(t, () => 200);
    const gw = await startTestGateway(t, {
      configText: config({}, [
        { name: 's', mcp: { host: slow.url }, policies: { http: { requestTimeout: '200ms' } } },
        { name: 'f', mcp: { host: fine.url } },
      ]),
    });
    assert.equal((await mcpFetch(gw.url, rpc(1, 'tools/call', { name: 's_x', arguments: {} }))).status, 504);
    assert.equal((await mcpFetch(gw.url, rpc(2, 'tools/call', { name: 'f_x', arguments: {} }))).status, 200);
  });

  it('an event stream that has begun is not cut by requestTimeout', async (t) => {
    const up = await scriptedUpstream(t, () => ({ events: 6, everyMs: 100 }));
    const gw = await startTestGateway(t, { configText: config({ timeout: { requestTimeout: '250ms' } }, [{ name: 'u', mcp: { host: up.url } }]) });
    const stream = await openEventStream(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(rpc(3, 'tools/call', { name: 'long', arguments: {} })),
    });
    assert.equal(stream.status, 200);
    const last = await stream.until((e) => e.message?.['id'] === 3, 10_000);
    assert.deepEqual(last.message?.['result'], { done: true });
    assert.equal(stream.events.length, 7);
  });

  it('a stdio call that times out does not wedge the process: its other calls are answered, the server is told', async (t) => {
    // Long enough for initialize to start the process on a loaded machine; the held call waits it out.
    const gw = await startTestGateway(t, {
      configText: config({ timeout: { requestTimeout: '3s' } }, [{ name: 's', stdio: { cmd: process.execPath, args: [scriptedStdioEntry] } }]),
    });
    const init = await mcpFetch(gw.url, rpc(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '0' } }));
    const sessionId = init.headers.get('mcp-session-id') ?? undefined;
    assert.ok(sessionId !== undefined, init.text);
    const held = await mcpFetch(gw.url, rpc(2, 'tools/list', { cursor: 'held' }), { sessionId });
    assert.equal(held.status, 504);
    await gw.log.waitFor(/cancelled \d+ \(held\)/);
    const ping = await mcpFetch(gw.url, rpc(3, 'ping'), { sessionId });
    assert.deepEqual(JSON.parse(ping.text), { jsonrpc: '2.0', id: 3, result: {} });
    const listed = await mcpFetch(gw.url, rpc(4, 'tools/list'), { sessionId });
    assert.equal(listed.status, 200);
  });
});

describe('retry', () => {
  const flaky = (failures: number) => (s: Seen, n: number): number => (s.method !== undefined && n <= failures ? 503 : 200);

  it('an idempotent request is resent on a listed status, with x-retry-attempt; attempts counts every try', async (t) => {
    const up = await scriptedUpstream(t, flaky(2));
    const gw = await startTestGateway(t, { configText: config({ retry: { attempts: 3, codes: [503], backoff: '10ms' } }, [{ name: 'u', mcp: { host: up.url } }]) });
    const reply = await mcpFetch(gw.url, rpc(1, 'tools/list'));
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(up.seen.map((s) => s.retryAttempt), [undefined, '1', '2']);
  });

  it('retries stop at attempts: the last answer is relayed', async (t) => {
    const up = await scriptedUpstream(t, flaky(5));
    const gw = await startTestGateway(t, { configText: config({ retry: { attempts: 2, codes: [503] } }, [{ name: 'u', mcp: { host: up.url } }]) });
    const reply = await mcpFetch(gw.url, rpc(1, 'ping'));
    assert.equal(reply.status, 503);
    assert.equal(up.seen.length, 2);
  });

  it('a tools/call the upstream received is never resent; nor is a body over 64 KiB', async (t) => {
    const up = await scriptedUpstream(t, flaky(5));
    const gw = await startTestGateway(t, { configText: config({ retry: { attempts: 4, codes: [503] } }, [{ name: 'u', mcp: { host: up.url } }]) });
    assert.equal((await mcpFetch(gw.url, rpc(1, 'tools/call', { name: 'pay', arguments: {} }))).status, 503);
    assert.equal(up.seen.filter((s) => s.method === 'tools/call').length, 1);
    assert.equal((await mcpFetch(gw.url, rpc(2, 'tools/list', { pad: 'p'.repeat(70_000) }))).status, 503);
    assert.equal(up.seen.filter((s) => s.method === 'tools/list').length, 1);
  });

  it('an attempt that times out is retried for an idempotent request', async (t) => {
    const up = await scriptedUpstream(t, (_s, n) => (n === 1 ? 'silent' : 200));
    const gw = await startTestGateway(t, {
      configText: config({ retry: { attempts: 2, codes: [503] }, timeout: { backendRequestTimeout: '200ms' } }, [{ name: 'u', mcp: { host: up.url } }]),
    });
    const reply = await mcpFetch(gw.url, rpc(1, 'tools/list'));
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(up.seen.map((s) => s.retryAttempt), [undefined, '1']);
  });
});

describe('localRateLimit', () => {
  const bucket = (extra: Readonly<Record<string, unknown>> = {}) => ({ maxTokens: 2, tokensPerFill: 1, fillInterval: '1h', ...extra });

  it('one bucket shared by all (agentgateway): 429 rate limit exceeded with x-ratelimit-*, a JSON-RPC error with the id; allowed answers carry the headers', async (t) => {
    const up = await scriptedUpstream(t, () => 200);
    const gw = await startTestGateway(t, { configText: config({ localRateLimit: [bucket()] }, [{ name: 'u', mcp: { host: up.url } }]) });
    const first = await mcpFetch(gw.url, rpc(1, 'ping'));
    assert.equal(first.status, 200);
    assert.deepEqual([first.headers.get('x-ratelimit-limit'), first.headers.get('x-ratelimit-remaining')], ['2', '1']);
    assert.equal((await mcpFetch(gw.url, rpc(2, 'ping'))).status, 200);
    const refused = await mcpFetch(gw.url, rpc(3, 'ping'));
    assert.equal(refused.status, 429);
    assert.deepEqual(JSON.parse(refused.text), { jsonrpc: '2.0', id: 3, error: { code: -32000, message: 'rate limit exceeded', data: { code: 'GW_RATE_LIMITED' } } });
    assert.equal(refused.headers.get('x-portcullis-error'), 'GW_RATE_LIMITED');
    assert.deepEqual([refused.headers.get('x-ratelimit-limit'), refused.headers.get('x-ratelimit-remaining'), refused.headers.get('x-ratelimit-reset')], ['2', '0', '3600']);
    assert.equal(up.seen.length, 2, 'a refused request never reaches the upstream');
    assert.match(await gw.gateway.metrics.render(), /portcullis_rate_limited_total\{route="route0"\} 1/);
  });

  it('per-subject buckets (key: jwt.sub): one caller at its limit does not slow another', async (t) => {
    const keys = await labKeys(t);
    const up = await scriptedUpstream(t, () => 200);
    const gw = await startTestGateway(t, { cwd: keys.dir, configText: config({ localRateLimit: [bucket({ key: 'jwt.sub' })] }, [{ name: 'u', mcp: { host: up.url } }], true) });
    for (let i = 0; i < 2; i++) assert.equal((await mcpFetch(gw.url, rpc(i, 'ping'), { token: keys.jsmith })).status, 200);
    assert.equal((await mcpFetch(gw.url, rpc(9, 'ping'), { token: keys.jsmith })).status, 429);
    for (let i = 0; i < 2; i++) assert.equal((await mcpFetch(gw.url, rpc(i, 'ping'), { token: keys.admin })).status, 200);
    assert.match(await gw.gateway.metrics.render(), /portcullis_rate_limit_keys 2/);
  });

  it('per tool (key: mcp.tool.name): each tool its own bucket; a request that names no tool is not charged', async (t) => {
    const up = await scriptedUpstream(t, () => 200);
    const gw = await startTestGateway(t, { configText: config({ localRateLimit: [bucket({ key: 'mcp.tool.name', maxTokens: 1 })] }, [{ name: 'u', mcp: { host: up.url } }]) });
    const call = (id: number, name: string) => mcpFetch(gw.url, rpc(id, 'tools/call', { name, arguments: {} }));
    assert.equal((await call(1, 'a')).status, 200);
    assert.equal((await call(2, 'a')).status, 429);
    assert.equal((await call(3, 'b')).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await mcpFetch(gw.url, rpc(10 + i, 'tools/list'))).status, 200);
  });

  it('the conditional form: the first entry whose condition holds is charged', async (t) => {
    const up = await scriptedUpstream(t, () => 200);
    const gw = await startTestGateway(t, {
      configText: config({ localRateLimit: { conditional: [{ condition: 'mcp.method == "tools/call"', ...bucket({ maxTokens: 1, tokensPerFill: 1 }) }, bucket({ maxTokens: 100, tokensPerFill: 1 })] } }, [{ name: 'u', mcp: { host: up.url } }]),
    });
    assert.equal((await mcpFetch(gw.url, rpc(1, 'tools/call', { name: 'x', arguments: {} }))).status, 200);
    assert.equal((await mcpFetch(gw.url, rpc(2, 'tools/call', { name: 'x', arguments: {} }))).status, 429);
    assert.equal((await mcpFetch(gw.url, rpc(3, 'ping'))).status, 200);
  });

  it('buckets survive a reload that keeps the spec, and start full when it changes', async (t) => {
    const keys = await labKeys(t);
    const up = await scriptedUpstream(t, () => 200);
    const file = join(keys.dir, 'limits.yaml');
    const write = (maxTokens: number, extra = ''): Promise<void> =>
      writeFile(file, config({ localRateLimit: [bucket({ maxTokens, tokensPerFill: 1 })] }, [{ name: 'u', mcp: { host: up.url } }]) + extra);
    await write(1);
    const gw = await startTestGateway(t, { cwd: keys.dir, configFile: file, watch: false });
    assert.equal((await mcpFetch(gw.url, rpc(1, 'ping'))).status, 200);
    assert.equal((await mcpFetch(gw.url, rpc(2, 'ping'))).status, 429);
    await write(1, '# an unrelated edit\n');
    assert.deepEqual(await gw.gateway.reload(), { ok: true });
    assert.equal((await mcpFetch(gw.url, rpc(3, 'ping'))).status, 429, 'the reload gave no fresh allowance');
    await write(2);
    assert.deepEqual(await gw.gateway.reload(), { ok: true });
    assert.equal((await mcpFetch(gw.url, rpc(4, 'ping'))).status, 200);
  });

  it('config errors name the path', async (t) => {
    await assert.rejects(
      startTestGateway(t, {
        configText: config(
          {
            localRateLimit: [{ maxTokens: 1, tokensPerFill: 2, fillInterval: '1s' }, { maxTokens: 1, fillInterval: 'soon', key: 'jwt.sub.size()', type: 'tokens' }],
            retry: { attempts: 0, codes: [700] },
            timeout: { requestTimeout: 'forever' },
          },
          [{ name: 'u', mcp: { host: 'http://127.0.0.1:1/mcp' } }],
        ),
      }),
      (err: unknown) => {
        const text = String(err);
        for (const expected of [
          'localRateLimit[0].maxTokens: must be at least tokensPerFill (2)',
          'localRateLimit[1].fillInterval: expected a duration',
          "localRateLimit[1].key: the expression's value is of type int, never a string",
          'localRateLimit[1].type: LLM token limits are not supported by Portcullis',
          'retry.attempts: expected an integer from 1 to 255',
          'retry.codes[0]: expected an HTTP status code (100 to 599)',
          'timeout.requestTimeout: expected a duration',
        ]) assert.ok(text.includes(expected), `${expected} in ${text}`);
        return true;
      },
    );
  });
});
