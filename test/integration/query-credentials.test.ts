// Credentials in a request's query never reach the access log (text or JSON, `http.path`), other
// log lines or /metrics, whether or not the route reads its token from the query: the known
// credential names (however a client spells them: case, percent-encoding, `;` separators), the
// names the config reads tokens from, anything shaped like a JWT, and the legacy SSE transport's
// session id. Other parameters stay as they were sent.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { openEventStream } from '../helpers/event-stream.js';
import { initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';

const secrets: string[] = [];
/** A value that must appear in no log line and no metric. */
function secret(): string {
  const s = `S3CR3T${randomBytes(6).toString('hex')}`;
  secrets.push(s);
  return s;
}

function routeYaml(upstream: string, policies: Readonly<Record<string, unknown>>): string {
  return stringify({
    binds: [{ port: 0, listeners: [{ routes: [{ policies, backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: upstream } }] } }] }] }] }],
  });
}

/** `http.path` of the access line at or after `from`. */
async function loggedPath(gw: TestGateway, format: 'text' | 'json', from: number): Promise<string> {
  const line = await gw.log.waitFor(format === 'json' ? /"scope":"request"/ : /\trequest /, { fromLine: from });
  const path = format === 'json' ? (JSON.parse(line) as Record<string, unknown>)['http.path'] : /http\.path=(\S+)/.exec(line)?.[1];
  assert.equal(typeof path, 'string', line);
  return String(path);
}

async function metricsText(gw: TestGateway): Promise<string> {
  const port = gw.gateway.opsPorts.stats;
  assert.ok(port !== null);
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: 'close' } });
  assert.equal(res.status, 200);
  return res.text();
}

function assertNoSecret(gw: TestGateway, metrics: string): void {
  for (const s of secrets) {
    for (const line of gw.log.lines) assert.ok(!line.includes(s), `${s} in the log: ${line}`);
    assert.ok(!metrics.includes(s), `${s} in /metrics`);
  }
}

/** [query sent, query logged] on a route that reads no token from the query. */
function cases(jwt: string): Array<readonly [string, string]> {
  const r = '<redacted>';
  return [
    [`access_token=${secret()}&cursor=abc`, `access_token=${r}&cursor=abc`],
    // Names as a hostile or sloppy client spells them: percent-encoded, upper case, `;`-separated.
    [`%61ccess_token=${secret()}`, `%61ccess_token=${r}`],
    [`ACCESS_TOKEN=${secret()}`, `ACCESS_TOKEN=${r}`],
    [`x=1;id_token=${secret()}`, `x=1;id_token=${r}`],
    [`refresh_token=${secret()}&code=${secret()}&state=xyz`, `refresh_token=${r}&code=${r}&state=xyz`],
    [`api_key=${secret()}&apiKey=${secret()}&key=${secret()}`, `api_key=${r}&apiKey=${r}&key=${r}`],
    [`sig=${secret()}&X-Amz-Signature=${secret()}&X-Amz-Credential=${secret()}`, `sig=${r}&X-Amz-Signature=${r}&X-Amz-Credential=${r}`],
    [`password=${secret()}&client_secret=${secret()}&client_assertion=${secret()}`, `password=${r}&client_secret=${r}&client_assertion=${r}`],
    [`sessionId=${secret()}&session=${secret()}`, `sessionId=${r}&session=${r}`],
    // A JWT under a name nobody lists, or under none.
    [`t=${jwt}`, `t=${r}`],
    [jwt, r],
    // A name that does not percent-decode cannot be judged: its value goes.
    [`%zz=${secret()}`, `%zz=${r}`],
  ];
}

for (const format of ['text', 'json'] as const) {
  test(`query credentials on a route without a query token: ${format} access log and /metrics`, async (t) => {
    const keys = await labKeys(t);
    const up = await startRecordingUpstream();
    t.after(() => up.close());
    const gw = await startTestGateway(t, { logFormat: format, statsAddr: '127.0.0.1:0', configText: routeYaml(up.url, {}) });
    secrets.push(keys.jsmith);
    for (const [sent, logged] of cases(keys.jsmith)) {
      const from = gw.log.lines.length;
      const reply = await mcpFetch(`${gw.url}?${sent}`, initializeRequest());
      assert.equal(reply.status, 200, sent);
      assert.equal(await loggedPath(gw, format, from), `/mcp?${logged}`);
    }
    assertNoSecret(gw, await metricsText(gw));
  });
}

test('a route reading its token from `?t=`: that name is redacted in any case, the others as without it', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, {
    cwd: keys.dir,
    statsAddr: '127.0.0.1:0',
    configText: routeYaml(up.url, {
      jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' }, location: { queryParameter: { name: 't' } } },
    }),
  });
  const wrong = secret();
  const other = secret();
  secrets.push(keys.jsmith);
  for (const [sent, status, logged] of [
    [`t=${encodeURIComponent(keys.jsmith)}&page=2`, 200, 't=<redacted>&page=2'],
    [`t=${wrong}`, 401, 't=<redacted>'],
    // Not the name the route reads (names compare exactly there), but still logged as a token.
    [`T=${wrong}&api_key=${other}`, 401, 'T=<redacted>&api_key=<redacted>'],
  ] as const) {
    const from = gw.log.lines.length;
    assert.equal((await mcpFetch(`${gw.url}?${sent}`, initializeRequest())).status, status, sent);
    assert.equal(await loggedPath(gw, 'text', from), `/mcp?${logged}`);
  }
  assertNoSecret(gw, await metricsText(gw));
});

test('legacy SSE: the session id and a token in the query are not logged, for the GET or the POSTs', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { statsAddr: '127.0.0.1:0', configText: routeYaml(up.url, {}) });
  const base = gw.url.replace(/\/mcp$/, '');
  const token = secret();
  const stream = await openEventStream(`${base}/sse?access_token=${token}`, { headers: { accept: 'text/event-stream' } });
  assert.equal(stream.status, 200);
  const endpoint = (await stream.until((e) => e.event === 'endpoint')).data ?? '';
  const sessionId = /sessionId=([^&]+)/.exec(endpoint)?.[1];
  assert.ok(sessionId !== undefined, endpoint);
  secrets.push(sessionId);
  const from = gw.log.lines.length;
  const post = await fetch(`${base}${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify(initializeRequest()) });
  assert.equal(post.status, 202);
  await stream.until((e) => e.message !== null && e.message['id'] === 1);
  assert.equal(await loggedPath(gw, 'text', from), '/sse?access_token=<redacted>&sessionId=<redacted>');
  const closedFrom = gw.log.lines.length;
  stream.close();
  assert.equal(await loggedPath(gw, 'text', closedFrom), '/sse?access_token=<redacted>');
  assertNoSecret(gw, await metricsText(gw));
});
