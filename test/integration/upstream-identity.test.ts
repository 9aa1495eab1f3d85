// Acting for the user towards each upstream, through a real gateway: the caller signs in with the
// enterprise IdP's token; each MCP target gets a token issued for it (RFC 8693 token exchange at
// a real authorization server, oidc-provider), which a token-checking MCP server verifies (its
// issuer, its own audience, `act`/`client_id`). Cross-App Access (ID-JAG) end to end, static keys,
// identity headers from claims, and the failures: nothing is ever sent upstream in place of the
// exchanged token, and the caller's own token never reaches an upstream.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { tempDir } from '../helpers/files.js';
import { type UserIdp, USER_ISSUER, startUserIdp } from '../helpers/exchange-fixtures.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { errorOf, mcpFetch, resultOf, rpc } from '../helpers/mcp-http.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';
import { connectClient } from '../helpers/sdk-client.js';
import { type TokenCheckingUpstream, startTokenCheckingUpstream } from '../helpers/token-checking-upstream.js';
import { type TokenIdp, startTokenIdp } from '../helpers/token-idp.js';

const CRM = 'https://crm.example.com/mcp';
const WIKI = 'https://wiki.example.com/mcp';
const TODOS = 'https://api.todos.example.com/mcp';

const cleanup: Array<() => Promise<void>> = [];
const suite = { after: (fn: () => Promise<void>): void => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

let user: UserIdp;
let dir: string;

before(async () => {
  user = await startUserIdp();
  dir = await tempDir(suite);
  await writeFile(join(dir, 'user-jwks'), JSON.stringify(user.issuer.jwks));
});

type Target = Readonly<Record<string, unknown>>;

/** One route: jwtAuth against the user's IdP, these targets. */
function gatewayConfig(targets: readonly Target[], routePolicies: Readonly<Record<string, unknown>> = {}): string {
  return stringify({
    binds: [
      {
        port: 0,
        listeners: [
          {
            routes: [
              {
                policies: { jwtAuth: { mode: 'strict', issuer: USER_ISSUER, audiences: ['portcullis'], jwks: { file: './user-jwks' } }, ...routePolicies },
                backends: [{ mcp: { targets } }],
              },
            ],
          },
        ],
      },
    ],
  });
}

function exchangeTarget(name: string, url: string, idp: TokenIdp, audience: string): Target {
  return {
    name,
    mcp: { host: url },
    policies: {
      backendAuth: {
        oauthTokenExchange: {
          host: idp.issuer,
          path: '/token',
          clientAuth: { clientId: idp.clients.basic.clientId, clientSecret: idp.clients.basic.clientSecret },
          audiences: [audience],
        },
      },
    },
  };
}

function textOf(result: Record<string, unknown>): string {
  const content = result['content'];
  assert.ok(Array.isArray(content));
  const first: unknown = content[0];
  assert.ok(typeof first === 'object' && first !== null && 'text' in first && typeof first.text === 'string');
  return first.text;
}

/** No log line, and nothing an upstream saw, holds the caller's token. */
function assertTokenNowhere(token: string, gw: TestGateway, upstreams: ReadonlyArray<{ readonly seen: ReadonlyArray<{ readonly token: string }> }>): void {
  for (const line of gw.log.lines) assert.ok(!line.includes(token), `a log line holds the caller's token: ${line}`);
  for (const u of upstreams) for (const s of u.seen) assert.notEqual(s.token, token);
}

describe('token exchange per target', () => {
  let idp: TokenIdp;
  let crm: TokenCheckingUpstream;
  let wiki: TokenCheckingUpstream;
  let gw: TestGateway;

  before(async () => {
    idp = await startTokenIdp({ trust: [user.trust] });
    suite.after(() => idp.close());
    crm = await startTokenCheckingUpstream({ issuer: idp.issuer, jwks: idp.jwks, audience: CRM, name: 'crm' });
    wiki = await startTokenCheckingUpstream({ issuer: idp.issuer, jwks: idp.jwks, audience: WIKI, name: 'wiki' });
    suite.after(() => crm.close());
    suite.after(() => wiki.close());
    gw = await startTestGateway(suite, {
      cwd: dir,
      configText: gatewayConfig([exchangeTarget('crm', crm.url, idp, CRM), exchangeTarget('wiki', wiki.url, idp, WIKI)]),
    });
  });

  it('two targets behind one route each get their own token for the same user (the SDK client through the gateway)', async () => {
    const token = await user.token('alice');
    const client = await connectClient(gw.url, token);
    try {
      const tools = await client.client.listTools();
      assert.deepEqual(tools.tools.map((t) => t.name).sort(), ['crm_whoami', 'wiki_whoami']);
      const atCrm: unknown = JSON.parse(textOf(await client.client.callTool({ name: 'crm_whoami', arguments: {} })));
      const atWiki: unknown = JSON.parse(textOf(await client.client.callTool({ name: 'wiki_whoami', arguments: {} })));
      assert.deepEqual(atCrm, { sub: 'alice', aud: CRM });
      assert.deepEqual(atWiki, { sub: 'alice', aud: WIKI });
    } finally {
      await client.close();
    }
    assert.equal(crm.refused.length + wiki.refused.length, 0, [...crm.refused, ...wiki.refused].join('; '));
    assertTokenNowhere(token, gw, [crm, wiki]);
  });

  it('the exchanged token is cached: N calls, one call to the IdP per target', async () => {
    const token = await user.token('bob');
    const before = idp.calls.length;
    for (let id = 1; id <= 6; id++) {
      const reply = await mcpFetch(gw.url, rpc(id, 'tools/call', { name: 'crm_whoami', arguments: {} }), { token });
      assert.equal(reply.status, 200, reply.text);
    }
    assert.equal(idp.calls.length - before, 1);
    assert.match(await gw.gateway.metrics.render(), /portcullis_backend_token_cache_lookups_total\{result="hit"\} [1-9]/);
    assert.match(await gw.gateway.metrics.render(), /portcullis_backend_auth_total\{route="route0",target="crm",outcome="cache_hit"\} [5-9]/);
  });

  it('a client-forged Authorization or identity is not what reaches the upstream', async () => {
    const token = await user.token('carol');
    const reply = await mcpFetch(gw.url, rpc(1, 'tools/call', { name: 'wiki_whoami', arguments: {} }), { token });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(JSON.parse(textOf(resultOf(reply))), { sub: 'carol', aud: WIKI });
    assertTokenNowhere(token, gw, [crm, wiki]);
  });
});

describe('token exchange failures: the status, a JSON-RPC error with the id, nothing forwarded', () => {
  let idp: TokenIdp;
  let crm: TokenCheckingUpstream;
  let gw: TestGateway;

  before(async () => {
    idp = await startTokenIdp({ trust: [user.trust] });
    suite.after(() => idp.close());
    crm = await startTokenCheckingUpstream({ issuer: idp.issuer, jwks: idp.jwks, audience: CRM, name: 'crm' });
    suite.after(() => crm.close());
    gw = await startTestGateway(suite, { cwd: dir, configText: gatewayConfig([exchangeTarget('crm', crm.url, idp, CRM)]) });
  });

  /** A call by a user the cache has not seen, answered without reaching the upstream. */
  const refusedCall = async (sub: string, status: number, message: RegExp): Promise<void> => {
    const token = await user.token(sub);
    const seenBefore = crm.seen.length + crm.refused.length;
    const reply = await mcpFetch(gw.url, rpc(42, 'tools/call', { name: 'whoami', arguments: {} }), { token });
    assert.equal(reply.status, status, reply.text);
    const error = errorOf(reply);
    assert.match(String(error.message), message);
    assert.equal(JSON.parse(reply.text).id, 42);
    assert.equal(crm.seen.length + crm.refused.length, seenBefore, 'nothing reached the upstream');
    assert.ok(!reply.text.includes(token));
    assertTokenNowhere(token, gw, [crm]);
  };

  it('refused by the IdP for what the caller brought (400 invalid_grant): 400 invalid request', async () => {
    idp.answerWith({ status: 400, json: { error: 'invalid_grant', error_description: 'subject not allowed' } });
    try {
      await refusedCall('dave', 400, /^invalid request$/);
    } finally {
      idp.answerWith(null);
    }
  });

  it('the IdP refusing the gateway itself (401), failing (503), or answering garbage: 500 backend authentication failed', async () => {
    const answers = [
      { status: 401, json: { error: 'invalid_client' } },
      { status: 503, text: 'down for maintenance' },
      { status: 200, text: '<html>not json</html>', contentType: 'text/html' },
      { status: 200, json: { access_token: 'x', token_type: 'mac' } },
      { status: 200, json: { access_token: '', token_type: 'Bearer' } },
    ] as const;
    let n = 0;
    for (const answer of answers) {
      idp.answerWith(answer);
      try {
        await refusedCall(`erin-${n++}`, 500, /^backend authentication failed: /);
      } finally {
        idp.answerWith(null);
      }
    }
    assert.match(gw.log.lines.join('\n'), /backend authentication failed route=route0 target=crm outcome=/);
  });

  it('the IdP down: 500, and served again once it is back', async () => {
    await idp.stop();
    try {
      await refusedCall('frank', 500, /^backend authentication failed: /);
    } finally {
      await idp.restart();
    }
    const token = await user.token('frank');
    const reply = await mcpFetch(gw.url, rpc(1, 'tools/call', { name: 'whoami', arguments: {} }), { token });
    assert.equal(reply.status, 200, reply.text);
  });
});

describe('Cross-App Access (ID-JAG) end to end', () => {
  it('the IdP issues an ID-JAG, the resource authorization server trades it for an access token the upstream lets in', async () => {
    const idp = await startTokenIdp({ trust: [user.trust] });
    suite.after(() => idp.close());
    const ras = await startTokenIdp({ mode: 'resource-as', trust: [{ issuer: idp.issuer, jwks: idp.jwks }], clientSuffix: '-at-todos', expiresIn: 600 });
    suite.after(() => ras.close());
    idp.setIdJagClient(ras.issuer, ras.clients.basic.clientId);
    const todos = await startTokenCheckingUpstream({ issuer: ras.issuer, jwks: ras.jwks, audience: TODOS, name: 'todos' });
    suite.after(() => todos.close());
    const target: Target = {
      name: 'todos',
      mcp: { host: todos.url },
      policies: {
        backendAuth: {
          crossAppAccess: {
            identityProvider: { host: idp.issuer, path: '/token', clientAuth: { method: 'clientSecretPost', clientId: idp.clients.post.clientId, clientSecret: idp.clients.post.clientSecret } },
            resourceAuthorizationServer: { host: ras.issuer, path: '/token', clientAuth: { clientId: ras.clients.basic.clientId, clientSecret: ras.clients.basic.clientSecret } },
            audience: ras.issuer,
            resources: [TODOS],
            scopes: ['todos.read'],
          },
        },
      },
    };
    const gw = await startTestGateway(suite, { cwd: dir, configText: gatewayConfig([target]) });
    const token = await user.token('grace');
    for (let id = 1; id <= 3; id++) {
      const reply = await mcpFetch(gw.url, rpc(id, 'tools/call', { name: 'whoami', arguments: {} }), { token });
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(JSON.parse(textOf(resultOf(reply))), { sub: 'grace', aud: TODOS });
    }
    // both legs once: the final token is cached
    assert.equal(idp.calls.length, 1);
    assert.equal(ras.calls.length, 1);
    assertTokenNowhere(token, gw, [todos]);
  });
});

describe('static keys and identity headers', () => {
  let up: RecordingUpstream;
  before(async () => {
    up = await startRecordingUpstream();
    suite.after(() => up.close());
  });

  it('a static key (inline or from a file) replaces the caller token; extra credentials go beside it', async () => {
    await writeFile(join(dir, 'crm-key'), 'sk-from-file\n');
    const gw = await startTestGateway(suite, {
      cwd: dir,
      configText: gatewayConfig([
        { name: 'a', mcp: { host: up.url }, policies: { backendAuth: { key: { value: { file: './crm-key' } }, credentials: [{ location: { header: { name: 'x-tenant' } }, key: 'acme' }] } } },
        { name: 'b', mcp: { host: up.url }, policies: { backendAuth: { key: { value: 'sk-inline', location: { header: { name: 'x-api-key' } } } } } },
      ]),
    });
    const token = await user.token('heidi');
    const from = up.requests.length;
    assert.equal((await mcpFetch(gw.url, rpc(1, 'tools/call', { name: 'a_echo', arguments: {} }), { token })).status, 200);
    assert.equal((await mcpFetch(gw.url, rpc(2, 'tools/call', { name: 'b_echo', arguments: {} }), { token })).status, 200);
    const [a, b] = up.requests.slice(from);
    assert.equal(a?.headers['authorization'], 'Bearer sk-from-file');
    assert.equal(a?.headers['x-tenant'], 'acme');
    assert.equal(b?.headers['x-api-key'], 'sk-inline');
    assert.equal(b?.headers['authorization'], undefined, "the caller's Authorization never goes beside another credential");
    for (const r of up.requests) assert.ok(!JSON.stringify(r.headers).includes(token));
  });

  it('headers from claims replace what the client sent; a claim that is missing removes the header', async () => {
    const gw = await startTestGateway(suite, {
      cwd: dir,
      configText: gatewayConfig([{ name: 'a', mcp: { host: up.url } }], {
        transformations: { request: { set: { 'x-user': 'jwt.sub', 'x-groups': 'jwt.groups.join(",")' }, add: { 'x-tenant': '"acme-" + jwt.tenant' } } },
        requestHeaderModifier: { set: { 'x-gateway': 'portcullis' }, remove: ['x-debug'] },
      }),
    });
    const forged = { 'x-user': 'admin', 'x-groups': 'admins', 'x-tenant': 'evil', 'x-debug': '1', 'x-other': 'kept' };
    const call = async (token: string): Promise<RecordingUpstream['requests'][number]> => {
      const from = up.requests.length;
      const reply = await mcpFetch(gw.url, rpc(1, 'ping'), { token, headers: forged });
      assert.equal(reply.status, 200, reply.text);
      const seen = up.requests[from];
      assert.ok(seen !== undefined);
      return seen;
    };
    const full = await call(await user.token('ivan', { groups: ['eng', 'ops'], tenant: 't1' }));
    assert.deepEqual(
      [full.headers['x-user'], full.headers['x-groups'], full.headers['x-tenant'], full.headers['x-gateway'], full.headers['x-debug'], full.headers['x-other']],
      ['ivan', 'eng,ops', 'acme-t1', 'portcullis', undefined, 'kept'],
    );
    // no groups or tenant claim: those headers are removed, the forged copies with them
    const bare = await call(await user.token('judy'));
    assert.deepEqual([bare.headers['x-user'], bare.headers['x-groups'], bare.headers['x-tenant']], ['judy', undefined, undefined]);
    assert.match(await gw.gateway.metrics.render(), /portcullis_transformation_errors_total\{route="route0",target="a",header="x-groups"\} 1/);
  });

  it('a passthrough target gets the caller token back; its neighbour with a key does not', async () => {
    const gw = await startTestGateway(suite, {
      cwd: dir,
      configText: gatewayConfig(
        [
          { name: 'p', mcp: { host: up.url } },
          { name: 'k', mcp: { host: up.url }, policies: { backendAuth: { key: 'sk-k' } } },
        ],
        { backendAuth: { passthrough: {} } },
      ),
    });
    const token = await user.token('mallory');
    const from = up.requests.length;
    assert.equal((await mcpFetch(gw.url, rpc(1, 'tools/call', { name: 'p_echo', arguments: {} }), { token })).status, 200);
    assert.equal((await mcpFetch(gw.url, rpc(2, 'tools/call', { name: 'k_echo', arguments: {} }), { token })).status, 200);
    const [p, k] = up.requests.slice(from);
    assert.equal(p?.headers['authorization'], `Bearer ${token}`);
    assert.equal(k?.headers['authorization'], 'Bearer sk-k');
  });
});
