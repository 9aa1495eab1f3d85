// jwtAuth modes × token missing / invalid / valid, and the hostile and out-of-date tokens, through
// raw `initialize` POSTs to an in-process gateway in front of a recording upstream (which shows
// whether a request got through and with which Authorization header).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gatewayYaml, labKeys, LAB_AUDIENCE, LAB_ISSUER, startTestGateway, type JwtModeName, type LabKeys, type TestGateway } from '../helpers/gateway-harness.js';
import { inSeconds, makeIssuer, publicKeyPem, signRaw } from '../helpers/keys.js';
import { initializeRequest, mcpFetch, resultOf, type McpReply } from '../helpers/mcp-http.js';
import { startRecordingUpstream, type RecordedRequest, type RecordingUpstream } from '../helpers/recording-upstream.js';

interface Hooks {
  after(fn: () => Promise<void>): void;
}
/** Suite-level cleanup for helpers that take a test context. */
const suiteCleanup: Array<() => Promise<void>> = [];
const suiteHost: Hooks = { after: (fn) => void suiteCleanup.push(fn) };
after(async () => {
  for (const fn of suiteCleanup.reverse()) await fn();
});

let keys: LabKeys;
let upstream: RecordingUpstream;
const gateways = new Map<string, TestGateway>();

async function gatewayFor(mode: JwtModeName, passthrough = false): Promise<TestGateway> {
  const name = `${mode}${passthrough ? '+passthrough' : ''}`;
  const existing = gateways.get(name);
  if (existing !== undefined) return existing;
  const gw = await startTestGateway(suiteHost, {
    cwd: keys.dir,
    configText: gatewayYaml({ upstreamUrl: upstream.url, mode, passthrough }),
  });
  gateways.set(name, gw);
  return gw;
}

/** POSTs an initialize and returns the reply plus what reached the upstream meanwhile. */
async function initialize(gw: TestGateway, token: string | undefined): Promise<{ reply: McpReply; seen: RecordedRequest[] }> {
  const before = upstream.requests.length;
  const reply = await mcpFetch(gw.url, initializeRequest(), token === undefined ? {} : { token });
  return { reply, seen: upstream.requests.slice(before) };
}

function assertRejected(reply: McpReply, seen: readonly RecordedRequest[], challenge: RegExp, body: RegExp): void {
  assert.equal(reply.status, 401, reply.text);
  assert.match(reply.contentType, /^text\/plain/);
  assert.match(reply.headers.get('www-authenticate') ?? '', challenge);
  assert.match(reply.text, body);
  assert.equal(seen.length, 0, 'a rejected request must not reach the upstream');
}

function assertPassed(reply: McpReply, seen: readonly RecordedRequest[]): RecordedRequest {
  assert.equal(reply.status, 200, reply.text);
  assert.equal(resultOf(reply)['protocolVersion'], '2025-06-18');
  assert.equal(seen.length, 1, 'the initialize reaches the upstream once');
  return seen[0]!;
}

before(async () => {
  keys = await labKeys(suiteHost);
  upstream = await startRecordingUpstream();
  suiteHost.after(() => upstream.close());
});

describe('jwtAuth modes × missing / invalid / valid token', () => {
  let invalid: string;
  before(() => {
    // A valid token with its signature's last bytes changed: a bad signature.
    invalid = `${keys.jsmith.slice(0, -6)}${keys.jsmith.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`;
  });

  test('strict, no token: 401 "no bearer token found", WWW-Authenticate: Bearer, upstream untouched', async () => {
    const gw = await gatewayFor('strict');
    const { reply, seen } = await initialize(gw, undefined);
    assertRejected(reply, seen, /^Bearer$/, /^authentication failure: no bearer token found$/);
    const line = await gw.log.waitFor(/http\.status=401/);
    assert.match(line, /error="authentication failure: no bearer token found"/);
  });

  for (const mode of ['strict', 'optional'] as const) {
    test(`${mode}, invalid token: 401 invalid_token, text/plain reason, upstream untouched`, async () => {
      const gw = await gatewayFor(mode);
      const { reply, seen } = await initialize(gw, invalid);
      assertRejected(reply, seen, /^Bearer .*error="invalid_token"/, /^authentication failure: \S/);
    });
  }

  test('permissive, invalid token: passes, and the upstream receives the Authorization header as sent', async () => {
    const gw = await gatewayFor('permissive');
    const { reply, seen } = await initialize(gw, invalid);
    const req = assertPassed(reply, seen);
    assert.equal(req.headers['authorization'], `Bearer ${invalid}`);
  });

  for (const mode of ['optional', 'permissive'] as const) {
    test(`${mode}, no token: passes without Authorization upstream`, async () => {
      const gw = await gatewayFor(mode);
      const { reply, seen } = await initialize(gw, undefined);
      const req = assertPassed(reply, seen);
      assert.equal(req.headers['authorization'], undefined);
    });
  }

  for (const mode of ['strict', 'optional', 'permissive'] as const) {
    test(`${mode}, valid token: passes, and the verified token is not forwarded`, async () => {
      const gw = await gatewayFor(mode);
      const { reply, seen } = await initialize(gw, keys.jsmith);
      const req = assertPassed(reply, seen);
      assert.equal(req.headers['authorization'], undefined);
      const line = await gw.log.waitFor(/jwt\.sub=jsmith/);
      assert.match(line, /http\.status=200/);
    });

    test(`${mode}, valid token with backendAuth passthrough: the upstream receives it`, async () => {
      const gw = await gatewayFor(mode, true);
      const { reply, seen } = await initialize(gw, keys.admin);
      const req = assertPassed(reply, seen);
      assert.equal(req.headers['authorization'], `Bearer ${keys.admin}`);
    });
  }
});

describe('tokens a strict route must refuse (and the edges it must accept)', () => {
  interface TokenCase {
    readonly name: string;
    readonly token: () => Promise<string>;
    /** reason text expected after `authentication failure: ` (null: the token is accepted) */
    readonly refused: RegExp | null;
  }
  const claims = (extra: Readonly<Record<string, unknown>> = {}): Record<string, unknown> => ({
    iss: LAB_ISSUER,
    aud: LAB_AUDIENCE,
    sub: 'jsmith',
    iat: inSeconds(0),
    exp: inSeconds(600),
    ...extra,
  });
  const cases: readonly TokenCase[] = [
    { name: 'expired (exp 2 min ago)', token: () => keys.issuer.sign(claims({ exp: inSeconds(-120) })), refused: /expired/ },
    { name: 'exp 30 s ago, inside the 60 s leeway', token: () => keys.issuer.sign(claims({ exp: inSeconds(-30) })), refused: null },
    { name: 'not yet valid (nbf in 2 min)', token: () => keys.issuer.sign(claims({ nbf: inSeconds(120) })), refused: /not (yet )?valid/ },
    { name: 'nbf 30 s ahead, inside the leeway', token: () => keys.issuer.sign(claims({ nbf: inSeconds(30) })), refused: null },
    { name: 'no exp', token: () => keys.issuer.sign(claims({ exp: undefined })), refused: /exp/ },
    { name: 'wrong issuer', token: () => keys.issuer.sign(claims({ iss: 'evil@example.com' })), refused: /issuer/ },
    { name: 'no issuer', token: () => keys.issuer.sign(claims({ iss: undefined })), refused: /iss/ },
    { name: 'wrong audience', token: () => keys.issuer.sign(claims({ aud: 'other.example.com' })), refused: /audience/ },
    { name: 'no aud while audiences are configured', token: () => keys.issuer.sign(claims({ aud: undefined })), refused: /aud/ },
    { name: 'audience list containing the configured one', token: () => keys.issuer.sign(claims({ aud: ['x', LAB_AUDIENCE] })), refused: null },
    { name: 'unknown kid', token: () => keys.issuer.sign(claims(), { kid: 'no-such-key' }), refused: /unknown key|kid/ },
    {
      name: 'signed by another key under our kid (bad signature)',
      token: async () => (await makeIssuer({ kid: keys.issuer.kid })).sign(claims()),
      refused: /signature/,
    },
    {
      name: 'alg none with an empty signature',
      token: () => Promise.resolve(signRaw({ alg: 'none', kid: keys.issuer.kid, typ: 'JWT' }, claims(), 'none')),
      refused: /none/,
    },
    {
      name: 'HS256 keyed with the public key (algorithm confusion)',
      token: () =>
        Promise.resolve(signRaw({ alg: 'HS256', kid: keys.issuer.kid, typ: 'JWT' }, claims(), { hmacSecret: publicKeyPem(keys.issuer.publicJwk) })),
      refused: /HS256|algorithm/,
    },
    {
      name: 'ES384 header on the ES256 key',
      token: () => Promise.resolve(signRaw({ alg: 'ES384', kid: keys.issuer.kid, typ: 'JWT' }, claims(), keys.issuer.privateJwk)),
      refused: /algorithm|signature/,
    },
    { name: 'not a JWT at all', token: () => Promise.resolve('not-a-jwt'), refused: /./ },
  ];

  for (const c of cases) {
    test(`${c.name} → ${c.refused === null ? '200' : '401, nothing upstream'}`, async () => {
      const gw = await gatewayFor('strict');
      const token = await c.token();
      const { reply, seen } = await initialize(gw, token);
      if (c.refused === null) {
        assertPassed(reply, seen);
        return;
      }
      assertRejected(reply, seen, /^Bearer .*error="invalid_token"/, /^authentication failure: /);
      assert.match(reply.text.slice('authentication failure: '.length), c.refused);
      // The access log carries the same reason, and never the token.
      const line = await gw.log.waitFor(new RegExp(`error="${escapeRegExp(JSON.stringify(reply.text).slice(1, -1))}"`));
      assert.match(line, /http\.status=401/);
    });
  }
});

test('no log line of any gateway contains a token', () => {
  const secrets = [keys.jsmith, keys.admin, keys.jsmith.split('.')[2]!, keys.admin.split('.')[2]!];
  for (const gw of gateways.values()) {
    for (const line of gw.log.lines) {
      for (const s of secrets) assert.ok(!line.includes(s), `token in log line: ${line}`);
    }
  }
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
