// A gateway session id is valid on the route that opened it only: another route's target of the
// same name may be another server, under other rules. Routes are told apart by name (two of a name
// are a config error), and unnamed ones by what they serve, not by their position.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { startGateway } from '../../src/main/gateway.js';
import { tempDir, type CleanupHost } from '../helpers/files.js';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { initializeRequest, mcpFetch, rpc } from '../helpers/mcp-http.js';
import { initializeResult, resultFor, sendJson, startStub } from '../helpers/stub-upstream.js';

/** An MCP upstream that answers everything and hands out the session `<label>-session`; `seen`
 * gets `<label> <session header or ->` per request. */
async function labelledUpstream(t: CleanupHost, label: string, seen: string[]): Promise<string> {
  const stub = await startStub(t, (req, res) => {
    const sid = req.headers['mcp-session-id'];
    seen.push(`${label} ${typeof sid === 'string' ? sid : '-'}`);
    sendJson(res, resultFor(req, initializeResult(label, {})), { 'mcp-session-id': `${label}-session` });
  });
  return stub.url;
}

function routesYaml(routes: ReadonlyArray<Record<string, unknown>>): string {
  return stringify({ binds: [{ port: 0, listeners: [{ routes }] }] });
}

function routeTo(prefix: string, url: string, name?: string): Record<string, unknown> {
  return {
    ...(name === undefined ? {} : { name }),
    matches: [{ path: { pathPrefix: prefix } }],
    backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: url } }] } }],
  };
}

test('a session opened on one route is not found on another', async (t) => {
  const seen: Array<string | undefined> = [];
  const { url } = await startStub(t, (req, res) => {
    const sid = req.headers['mcp-session-id'];
    seen.push(typeof sid === 'string' ? sid : undefined);
    sendJson(res, resultFor(req, initializeResult('s', {})), { 'mcp-session-id': 'upstream-session-1' });
  });
  const backend = { mcp: { targets: [{ name: 'mcp', mcp: { host: url } }] } };
  const configText = stringify({
    binds: [
      {
        port: 0,
        listeners: [
          {
            routes: [
              { name: 'a', matches: [{ path: { pathPrefix: '/a' } }], backends: [backend] },
              { name: 'b', matches: [{ path: { pathPrefix: '/b' } }], backends: [backend] },
            ],
          },
        ],
      },
    ],
  });
  const gw = await startTestGateway(t, { configText });
  const base = gw.url.replace(/\/mcp$/, '');
  const init = await mcpFetch(`${base}/a/mcp`, initializeRequest());
  const sessionId = init.headers.get('mcp-session-id');
  assert.ok(sessionId !== null);
  const same = await mcpFetch(`${base}/a/mcp`, rpc(2, 'ping'), { sessionId });
  assert.equal(same.status, 200);
  const other = await mcpFetch(`${base}/b/mcp`, rpc(3, 'ping'), { sessionId });
  assert.equal(other.status, 404);
  assert.match(other.text, /Session not found/);
  assert.deepEqual(seen, [undefined, 'upstream-session-1']);
});

test('two routes of one name are a config error, so they cannot share sessions', async (t) => {
  const seen: string[] = [];
  const a = await labelledUpstream(t, 'A', seen);
  const b = await labelledUpstream(t, 'B', seen);
  const configText = routesYaml([routeTo('/a', a, 'shared'), routeTo('/b', b, 'shared')]);
  const started = startGateway({ configText, workers: 0, adminAddr: null, statsAddr: null, readinessAddr: null, logSink: { write() {} } });
  await assert.rejects(
    started.then((gw) => gw.close({ drainMs: 0 })),
    /binds\[0\]\.listeners\[0\]\.routes\[1\]\.name: "shared" is already the name of routes\[0\]/,
  );
  assert.deepEqual(seen, []);
});

test('unnamed routes keep their sessions when a reload reorders them, and do not take each other\'s', async (t) => {
  const seen: string[] = [];
  const a = await labelledUpstream(t, 'A', seen);
  const b = await labelledUpstream(t, 'B', seen);
  const dir = await tempDir(t);
  const file = join(dir, 'config.yaml');
  await writeFile(file, routesYaml([routeTo('/a', a), routeTo('/b', b)]));
  const gw = await startTestGateway(t, { cwd: dir, configFile: file, watch: false });
  const base = gw.url.replace(/\/mcp$/, '');
  const init = await mcpFetch(`${base}/a/mcp`, initializeRequest());
  const sessionId = init.headers.get('mcp-session-id');
  assert.ok(sessionId !== null);

  // The route to A was route0 and becomes route1; the one to B takes the name route0.
  await writeFile(file, routesYaml([routeTo('/b', b), routeTo('/a', a)]));
  assert.deepEqual(await gw.gateway.reload(), { ok: true });
  const other = await mcpFetch(`${base}/b/mcp`, rpc(2, 'ping'), { sessionId });
  assert.equal(other.status, 404, 'a session opened on the route to A is no session on the route to B');
  assert.match(other.text, /Session not found/);
  const same = await mcpFetch(`${base}/a/mcp`, rpc(3, 'ping'), { sessionId });
  assert.equal(same.status, 200, same.text);
  assert.deepEqual(seen, ['A -', 'A A-session']);
});
