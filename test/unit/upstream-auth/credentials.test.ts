// The pure parts of src/main/upstream-auth: the cache key and lifetime, the LRU bound, where
// credentials are read from and written to, and where an issuer's metadata is looked for.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { applyCredential } from '../../../src/main/upstream-auth/apply-credential.js';
import { ExchangeCache, type ExchangeInputs, cacheKey, expiryOf } from '../../../src/main/upstream-auth/exchange-cache.js';
import { metadataUrls } from '../../../src/main/upstream-auth/endpoint.js';
import { readLocation } from '../../../src/main/upstream-auth/locations.js';

const inputs = (over: Partial<ExchangeInputs> = {}): ExchangeInputs => ({ subjectToken: 'subject', subjectTokenType: 'urn:t', actor: null, params: [], ...over });
const jwtWithExp = (exp: unknown) => `e30.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`;

describe('upstream-auth', () => {
  it('cache key: a digest of length-prefixed fields, never the token', () => {
    const key = cacheKey(inputs({ subjectToken: 'eyJ.secret-subject.sig' }));
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(key, cacheKey(inputs({ subjectToken: 'eyJ.secret-subject.sig' })));
    const distinct = [
      inputs(),
      inputs({ subjectToken: 'subjec', subjectTokenType: 'turn:t' }),
      inputs({ subjectTokenType: 'urn:u' }),
      inputs({ actor: { token: '', tokenType: '' } }),
      inputs({ params: [['a', 'bc']] }),
      inputs({ params: [['ab', 'c']] }),
      inputs({ params: [['a', 'b'], ['c', '']] }),
    ].map(cacheKey);
    assert.equal(new Set(distinct).size, distinct.length);
  });

  it("cache key: agentgateway's digest, SHA-256 over each field as u64-LE byte length + UTF-8 bytes", () => {
    const reference = (i: ExchangeInputs): string => {
      const h = createHash('sha256');
      const field = (bytes: Buffer): void => {
        const length = Buffer.alloc(8);
        length.writeBigUInt64LE(BigInt(bytes.length));
        h.update(length).update(bytes);
      };
      const text = (t: string): void => field(Buffer.from(t, 'utf8'));
      text(i.subjectToken);
      text(i.subjectTokenType);
      field(Buffer.of(i.actor === null ? 0 : 1));
      if (i.actor !== null) {
        text(i.actor.token);
        text(i.actor.tokenType);
      }
      for (const [name, value] of i.params) {
        text(name);
        text(value);
      }
      return h.digest('base64url');
    };
    for (const i of [
      inputs(),
      inputs({ subjectToken: 'ünïcödé €', actor: { token: 'actor ✓', tokenType: 'urn:a' }, params: [['é', '∞'], ['b', '']] }),
      inputs({ subjectToken: '', subjectTokenType: '', params: [['', '']] }),
    ]) {
      assert.equal(cacheKey(i), reference(i));
    }
  });

  it("lifetime: expires_in or the default, capped at the subject JWT's exp", () => {
    const now = 1_000_000_000_000;
    assert.equal(expiryOf(now, 60, 300, 'opaque'), now + 60_000);
    assert.equal(expiryOf(now, null, 300, 'opaque'), now + 300_000);
    assert.equal(expiryOf(now, 3600, 300, jwtWithExp(now / 1000 + 90)), now + 90_000);
    assert.equal(expiryOf(now, 30, 300, jwtWithExp(now / 1000 + 90)), now + 30_000);
    assert.equal(expiryOf(now, 30, 300, jwtWithExp('soon')), now + 30_000);
    assert.equal(expiryOf(now, 30, 300, 'a.!!!.c'), now + 30_000);
  });

  it('the cache: LRU bound, nothing kept or served with 15 s or less to go', () => {
    let t = 0;
    const cache = new ExchangeCache<unknown>(2, () => t);
    cache.set('a', 'A', 60_000);
    cache.set('b', 'B', 60_000);
    assert.equal(cache.get('a'), 'A');
    cache.set('c', 'C', 60_000);
    assert.deepEqual([cache.get('b'), cache.get('a'), cache.get('c'), cache.size], [undefined, 'A', 'C', 2]);
    cache.set('short', 'S', 15_000);
    assert.equal(cache.get('short'), undefined);
    t = 44_999;
    assert.equal(cache.get('a'), 'A');
    t = 45_000;
    assert.equal(cache.get('a'), undefined);
    assert.deepEqual(cache.counts, { hits: 4, misses: 3 });
  });

  it('reading a credential: header prefix in any case, first copy; query; cookie', () => {
    const caller = (headers: Array<[string, string]>, query = '') => ({ token: null, claims: null, headers, query });
    const bearer = { kind: 'header', name: 'authorization', prefix: 'Bearer ' } as const;
    assert.equal(readLocation(bearer, caller([['authorization', 'BEARER abc'], ['authorization', 'Bearer def']])), 'abc');
    assert.equal(readLocation(bearer, caller([['authorization', 'Bearer']])), null);
    assert.equal(readLocation(bearer, caller([['authorization', 'Bearer  ']])), null);
    assert.equal(readLocation({ kind: 'header', name: 'x-key', prefix: '' }, caller([['x-key', 'raw']])), 'raw');
    assert.equal(readLocation({ kind: 'queryParameter', name: 't' }, caller([], 'a=1&t=x%2By+z&t=2')), 'x+y z');
    const cookie = { kind: 'cookie', name: 's' } as const;
    assert.equal(readLocation(cookie, caller([['cookie', 'a=1; s = v=w ;b=2']])), 'v=w');
    assert.equal(readLocation(cookie, caller([['cookie', 'ss=1'], ['cookie', 's=2']])), '2');
    assert.equal(readLocation(cookie, caller([['cookie', 'noequals; =x']])), null);
  });

  it('applying a credential: removes, then inserts in order', () => {
    const request = { headers: [['authorization', 'Bearer user'], ['cookie', 'a=1; s=old'], ['x-other', 'keep']] as const, pathAndQuery: '/mcp?t=user&keep=%2F&t=again' };
    const applied = applyCredential(request, {
      removes: [{ kind: 'header', name: 'authorization' }, { kind: 'queryParameter', name: 't' }, { kind: 'cookie', name: 'a' }],
      inserts: [{ kind: 'header', name: 'authorization', value: 'Bearer exchanged' }, { kind: 'cookie', name: 's', value: 'new' }],
    });
    assert.deepEqual(applied, {
      headers: [['x-other', 'keep'], ['authorization', 'Bearer exchanged'], ['cookie', 's=new']],
      pathAndQuery: '/mcp?keep=%2F',
    });
    const cleared = applyCredential({ headers: [['cookie', 'a=1']], pathAndQuery: '/mcp?t=1' }, {
      removes: [{ kind: 'cookie', name: 'a' }, { kind: 'queryParameter', name: 't' }],
      inserts: [],
    });
    assert.deepEqual(cleared, { headers: [], pathAndQuery: '/mcp' });
  });

  it("an issuer's metadata: OpenID discovery, then RFC 8414 (path after the well-known part)", () => {
    assert.deepEqual(metadataUrls('https://idp.example.com'), ['https://idp.example.com/.well-known/openid-configuration', 'https://idp.example.com/.well-known/oauth-authorization-server']);
    assert.deepEqual(metadataUrls('https://idp.example.com/realms/acme/'), [
      'https://idp.example.com/realms/acme/.well-known/openid-configuration',
      'https://idp.example.com/.well-known/oauth-authorization-server/realms/acme',
    ]);
  });
});
