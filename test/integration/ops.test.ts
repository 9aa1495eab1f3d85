// The operations listeners: readiness, Prometheus metrics that count outcomes by reason and cache
// lookups, the admin config dump (with the session key redacted), and readiness turning 503 while
// draining.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';

async function get(port: number | null, path: string): Promise<{ status: number; text: string; type: string }> {
  assert.ok(port !== null);
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close' } });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

test('readiness, metrics by outcome, and a config dump without the session key', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const configText = stringify({
    config: { session: { key: 'very-secret-session-key' } },
    binds: [{
      port: 0,
      listeners: [{
        routes: [{
          policies: {
            jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' } },
            mcpAuthorization: { rules: ['"admin" in jwt.roles'] },
          },
          backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: up.url } }] } }],
        }],
      }],
    }],
  });
  const gw = await startTestGateway(t, {
    cwd: keys.dir,
    configText,
    adminAddr: '127.0.0.1:0',
    statsAddr: '127.0.0.1:0',
    readinessAddr: '127.0.0.1:0',
  });
  const ports = gw.gateway.opsPorts;

  const ready = await get(ports.readiness, '/healthz/ready');
  assert.deepEqual([ready.status, ready.text], [200, 'ready\n']);

  assert.equal((await mcpFetch(gw.url, initializeRequest())).status, 401);
  assert.equal((await mcpFetch(gw.url, initializeRequest(), { token: keys.admin })).status, 200);
  const denied = await mcpFetch(gw.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x' } }, { token: keys.jsmith });
  assert.equal(denied.status, 200);
  // The same list twice for one caller: scanned once, then answered from the list cache.
  for (let i = 0; i < 2; i++) {
    const list = await mcpFetch(gw.url, { jsonrpc: '2.0', id: 3 + i, method: 'tools/list', params: {} }, { token: keys.admin });
    assert.equal(list.status, 200);
  }

  const metrics = await get(ports.stats, '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.type, /^text\/plain/);
  assert.match(metrics.text, /^portcullis_jwt_verifications_total\{outcome="missing"\} 1$/m);
  assert.match(metrics.text, /^portcullis_jwt_verifications_total\{outcome="ok"\} 4$/m);
  // jsmith's token verified once, admin's twice (cached at its second verification), then from the cache
  assert.match(metrics.text, /^portcullis_token_cache_lookups_total\{result="miss"\} 3$/m);
  assert.match(metrics.text, /^portcullis_token_cache_lookups_total\{result="hit"\} 1$/m);
  assert.match(metrics.text, /^portcullis_token_cache_entries 1$/m);
  assert.match(metrics.text, /^portcullis_list_cache_lookups_total\{result="miss"\} 1$/m);
  assert.match(metrics.text, /^portcullis_list_cache_lookups_total\{result="hit"\} 1$/m);
  assert.match(metrics.text, /^portcullis_list_cache_chars [1-9]\d*$/m);
  assert.match(metrics.text, /^portcullis_mcp_denied_total\{type="tool"\} 1$/m);
  assert.match(metrics.text, /^portcullis_requests_total\{route="route0",status="401"\} 1$/m);
  // jsmith has no roles: the rule errors, counted, and counts as false.
  assert.match(metrics.text, /^portcullis_cel_rule_errors_total 1$/m);
  assert.match(metrics.text, /^portcullis_request_duration_seconds_count 5$/m);
  assert.equal((await get(ports.stats, '/stats/prometheus')).status, 200);

  const dump = await get(ports.admin, '/config_dump');
  assert.equal(dump.status, 200);
  assert.ok(!dump.text.includes('very-secret-session-key'));
  const parsed = JSON.parse(dump.text) as { runtime: { sessionKey: string }; binds: unknown[] };
  assert.equal(parsed.runtime.sessionKey, '<redacted>');
  assert.equal(parsed.binds.length, 1);
  assert.equal((await get(ports.admin, '/nope')).status, 404);
});
