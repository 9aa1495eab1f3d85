// jwtAuth `location` and `jwtValidationOptions` end to end: the token read from a custom header
// with a prefix, a query parameter, or a cookie; the header or cookie that carried it is not
// forwarded; required claims and a narrower leeway refuse what the defaults would accept. Also
// the JSON access log (`--log-format json` / `logFormat`), which must name the reason and never
// the token.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { inSeconds } from '../helpers/keys.js';
import { openEventStream } from '../helpers/event-stream.js';
import { initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';

function config(upstream: string, jwtExtra: Readonly<Record<string, unknown>>): string {
  return stringify({
    binds: [{
      port: 0,
      listeners: [{
        routes: [{
          policies: { jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' }, ...jwtExtra } },
          backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: upstream } }] } }],
        }],
      }],
    }],
  });
}

test('a custom header with a prefix; the header is not forwarded; Authorization is not read', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: config(up.url, { location: { header: { name: 'X-Api-Token', prefix: 'Token ' } } }) });
  const ok = await mcpFetch(gw.url, initializeRequest(), { headers: { 'x-api-token': `Token ${keys.admin}` } });
  assert.equal(ok.status, 200);
  assert.equal(up.requests.at(-1)?.headers['x-api-token'], undefined);
  const wrongPlace = await mcpFetch(gw.url, initializeRequest(), { token: keys.admin });
  assert.equal(wrongPlace.status, 401);
  assert.match(wrongPlace.text, /no bearer token found/);
  const wrongPrefix = await mcpFetch(gw.url, initializeRequest(), { headers: { 'x-api-token': `Bearer ${keys.admin}` } });
  assert.equal(wrongPrefix.status, 401);
});

test('a query parameter', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: config(up.url, { location: { queryParameter: { name: 'access_token' } } }) });
  const ok = await mcpFetch(`${gw.url}?access_token=${encodeURIComponent(keys.jsmith)}`, initializeRequest());
  assert.equal(ok.status, 200);
  assert.equal(up.requests.length, 1);
  assert.ok(!up.requests[0]!.path.includes(keys.jsmith), 'the token must not reach the upstream');
  assert.equal((await mcpFetch(gw.url, initializeRequest())).status, 401);
});

test('a query parameter on the legacy SSE transport: the endpoint the gateway announces keeps it', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: config(up.url, { location: { queryParameter: { name: 'access_token' } } }) });
  const base = gw.url.replace(/\/mcp$/, '');
  const query = `access_token=${encodeURIComponent(keys.jsmith)}&sessionId=chosen-by-client`;
  const stream = await openEventStream(`${base}/sse?${query}`, { headers: { accept: 'text/event-stream' } });
  t.after(() => stream.close());
  assert.equal(stream.status, 200);
  const endpoint = (await stream.until((e) => e.event === 'endpoint')).data ?? '';
  assert.ok(endpoint.startsWith(`/sse?access_token=${encodeURIComponent(keys.jsmith)}&sessionId=`), endpoint);
  assert.ok(!endpoint.includes('chosen-by-client'), endpoint);
  const post = await fetch(`${base}${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify(initializeRequest()) });
  assert.equal(post.status, 202);
  await stream.until((e) => e.message !== null && e.message['id'] === 1);
});

test('a cookie; the other cookies are forwarded, the token one is not', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: config(up.url, { location: { cookie: { name: 'session_jwt' } } }) });
  const ok = await mcpFetch(gw.url, initializeRequest(), { headers: { cookie: `theme=dark; session_jwt=${keys.jsmith}; lang=en` } });
  assert.equal(ok.status, 200);
  assert.equal(up.requests.at(-1)?.headers['cookie'], 'theme=dark; lang=en');
  const none = await mcpFetch(gw.url, initializeRequest(), { headers: { cookie: 'theme=dark' } });
  assert.equal(none.status, 401);
});

test('a cookie token in a second Cookie header is found, and neither header forwards it', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: config(up.url, { location: { cookie: { name: 'session_jwt' } } }) });
  const { port } = new URL(gw.url);
  const body = JSON.stringify(initializeRequest());
  // fetch and node's client join repeated Cookie headers; the raw request keeps them apart
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      // not end(): uWS takes a half-closed connection for a gone client
      socket.write(
        'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n' +
          'Accept: application/json, text/event-stream\r\nCookie: theme=dark\r\n' +
          `Cookie: session_jwt=${keys.jsmith}; lang=en\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  assert.match(raw, /^HTTP\/1\.1 200 /);
  assert.equal(up.requests.at(-1)?.headers['cookie'], 'theme=dark; lang=en');
});

test('optional mode: a malformed token is refused wherever it is read from; only an absent or empty value is no token', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const start = async (location: Readonly<Record<string, unknown>>): Promise<string> =>
    (await startTestGateway(t, { cwd: keys.dir, configText: config(up.url, { mode: 'optional', location }) })).url;
  const status = async (url: string, headers: Readonly<Record<string, string>> = {}): Promise<number> =>
    (await mcpFetch(url, initializeRequest(), { headers })).status;

  const header = await start({ header: { name: 'authorization', prefix: 'Bearer ' } });
  assert.equal(await status(header, { authorization: 'Bearer abc def' }), 401, 'a token with a space');
  assert.equal(await status(header, { authorization: 'Bearer abc' }), 401);
  assert.equal(await status(header, { authorization: `Bearer ${keys.jsmith} x` }), 401, 'a valid token with more after it');
  assert.equal(await status(header, { authorization: 'Bearer   ' }), 200, 'an empty value is no token');
  assert.equal(await status(header), 200, 'no header');
  assert.equal(await status(header, { authorization: `Bearer ${keys.jsmith}` }), 200);

  const query = await start({ queryParameter: { name: 'access_token' } });
  assert.equal(await status(`${query}?access_token=abc%20def`), 401, 'a token with a space');
  assert.equal(await status(`${query}?access_token=abc%zz`), 401, 'a value that does not percent-decode');
  assert.equal(await status(`${query}?%zz=1&access_token=abc`), 401, 'after a name that does not decode');
  assert.equal(await status(`${query}?access_token=`), 200, 'an empty value is no token');
  assert.equal(await status(query), 200, 'no parameter');

  const cookie = await start({ cookie: { name: 'session_jwt' } });
  assert.equal(await status(cookie, { cookie: 'session_jwt=abc def; theme=dark' }), 401, 'a token with a space');
  assert.equal(await status(cookie, { cookie: 'session_jwt=; theme=dark' }), 200, 'an empty value is no token');
  assert.equal(await status(cookie, { cookie: 'theme=dark' }), 200, 'no such cookie');
});

test('requiredClaims and leeway', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, {
    cwd: keys.dir,
    logFormat: 'json',
    configText: config(up.url, { jwtValidationOptions: { requiredClaims: ['sub', 'roles'], leeway: '5s' } }),
  });
  const base = { iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub: 'jsmith', iat: inSeconds(0) };
  const noRoles = await keys.issuer.sign({ ...base, exp: inSeconds(600) });
  const withRoles = await keys.issuer.sign({ ...base, roles: ['dev'], exp: inSeconds(600) });
  const justExpired = await keys.issuer.sign({ ...base, roles: ['dev'], exp: inSeconds(-30) });
  const refused = await mcpFetch(gw.url, initializeRequest(), { token: noRoles });
  assert.equal(refused.status, 401);
  assert.match(refused.text, /no "roles" claim/);
  assert.equal((await mcpFetch(gw.url, initializeRequest(), { token: withRoles })).status, 200);
  // 30 s past exp: inside the default 60 s leeway, outside the configured 5 s.
  const expired = await mcpFetch(gw.url, initializeRequest(), { token: justExpired });
  assert.equal(expired.status, 401);
  assert.match(expired.text, /expired/);
  const lines = gw.log.accessLines().length > 0 ? gw.log.accessLines() : gw.log.lines;
  const json = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => o['scope'] === 'request');
  assert.ok(json.some((o) => o['http.status'] === 401 && String(o['error']).includes('"roles"')), 'JSON access log names the reason');
  for (const line of gw.log.lines) for (const token of [noRoles, withRoles, justExpired]) assert.ok(!line.includes(token), 'no token in any log line');
});

/** A query-parameter token is a credential: every access log line shows the path with its value
 * redacted, whichever spelling of the name carried it, whatever the answer. */
for (const logFormat of ['text', 'json'] as const) {
  test(`a query-parameter token never reaches the ${logFormat} access log`, async (t) => {
    const keys = await labKeys(t);
    const up = await startRecordingUpstream();
    t.after(() => up.close());
    const configText = stringify({
      binds: [{
        port: 0,
        listeners: [{
          routes: [{
            matches: [{ path: { pathPrefix: '/mcp' } }],
            policies: { jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' }, location: { queryParameter: { name: 'access_token' } } } },
            backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: up.url } }] } }],
          }],
        }],
      }],
    });
    const gw = await startTestGateway(t, { cwd: keys.dir, logFormat, configText });
    const expired = await keys.issuer.sign({ iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub: 'jsmith', iat: inSeconds(-7200), exp: inSeconds(-3600) });
    const base = `http://127.0.0.1:${gw.gateway.port}`;
    const cases = [
      { path: `/mcp?x=1&access_token=${keys.jsmith}&y=2`, status: 200, logged: '/mcp?x=1&access_token=<redacted>&y=2' },
      // The name decodes to access_token, so the gateway reads the token from it.
      { path: `/mcp?access%5Ftoken=${keys.admin}`, status: 200, logged: '/mcp?access%5Ftoken=<redacted>' },
      { path: `/mcp?access_token=${expired}`, status: 401, logged: '/mcp?access_token=<redacted>' },
      // No route: still a credential in the URL.
      { path: `/elsewhere?access_token=${keys.jsmith}`, status: 404, logged: '/elsewhere?access_token=<redacted>' },
    ];
    for (const c of cases) {
      const from = gw.log.lines.length;
      const res = await mcpFetch(`${base}${c.path}`, initializeRequest());
      assert.equal(res.status, c.status, c.path);
      const line = await gw.log.waitFor(logFormat === 'json' ? /"scope":"request"/ : /\trequest /, { fromLine: from });
      const path = logFormat === 'json' ? (JSON.parse(line) as Record<string, unknown>)['http.path'] : /http\.path=(\S+)/.exec(line)?.[1];
      assert.equal(path, c.logged);
    }
    for (const line of gw.log.lines) for (const token of [keys.jsmith, keys.admin, expired]) assert.ok(!line.includes(token), `no token in: ${line}`);
  });
}
