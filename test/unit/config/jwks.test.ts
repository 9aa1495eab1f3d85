import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { loadConfigText } from '../../../src/main/config/load.js';
import type { JwtProviderConfig } from '../../../src/main/config/types.js';
import {
  ROUTE,
  type Jwk,
  type TempCwd,
  ecJwk,
  edJwk,
  expectOk,
  lines,
  member,
  privateEcJwk,
  rsaJwk,
  tempCwd,
  withRoute,
} from './fixtures.js';

const JWKS = `${ROUTE}.policies.jwtAuth.jwks`;

describe('JWKS loading', () => {
  let cwd: TempCwd;
  before(() => {
    cwd = tempCwd();
  });
  after(() => cwd.remove());

  const configFor = (file: string) => withRoute(`policies:\n  jwtAuth:\n    issuer: acme\n    jwks: {file: ${file}}`);
  const loadKeys = (name: string, keys: readonly Jwk[]) => {
    cwd.writeJwks(name, keys);
    return loadConfigText(configFor(name), { cwd: cwd.dir, env: {} });
  };
  const provider = (name: string, keys: readonly Jwk[]): JwtProviderConfig | undefined =>
    expectOk(loadKeys(name, keys)).binds[0]?.listeners[0]?.routes[0]?.policies.jwtAuth?.providers[0];

  it('RSA, EC (P-256, P-384) and Ed25519 keys load as public JWKs', () => {
    const rsa = rsaJwk('rsa', { alg: 'PS256' });
    const p = provider('ok.json', [rsa, ecJwk('ec'), edJwk('ed', { alg: 'EdDSA' })]);
    assert.deepEqual(p?.jwksSource, { kind: 'file', path: join(cwd.dir, 'ok.json') });
    assert.deepEqual(
      p?.keys.map((k) => [k.kid, k.kty, k.alg]),
      [
        ['rsa', 'RSA', 'PS256'],
        ['ec', 'EC', undefined],
        ['ed', 'OKP', 'EdDSA'],
      ],
    );
    assert.deepEqual(p?.keys[0], { kty: 'RSA', kid: 'rsa', alg: 'PS256', n: member(rsa, 'n'), e: member(rsa, 'e') });
  });

  it('a missing JWKS file', () => {
    assert.deepEqual(lines(loadConfigText(configFor('absent.json'), { cwd: cwd.dir, env: {} })), [
      `${JWKS}.file: failed to load JWKS: ENOENT: no such file or directory, open '${join(cwd.dir, 'absent.json')}'`,
    ]);
  });

  it('a file that is not JSON, or not a key set', () => {
    // Pointed at a PEM key by mistake: the message must not quote the file.
    cwd.write('key.pem', '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n');
    assert.deepEqual(lines(loadConfigText(configFor('key.pem'), { cwd: cwd.dir, env: {} })), [
      `${JWKS}.file: failed to load JWKS: not valid JSON (at position 1)`,
    ]);
    cwd.write('truncated.json', '{"keys": [');
    assert.match(lines(loadConfigText(configFor('truncated.json'), { cwd: cwd.dir, env: {} }))[0] ?? '', /jwks\.file: failed to load JWKS: not valid JSON/);

    cwd.write('single.json', JSON.stringify(ecJwk('k')));
    assert.deepEqual(lines(loadConfigText(configFor('single.json'), { cwd: cwd.dir, env: {} })), [
      `${JWKS}.file: failed to load JWKS: expected a JSON object with a "keys" list`,
    ]);
  });

  it('refuses symmetric (oct) keys', () => {
    const oct = { kty: 'oct', kid: 'hmac', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0', alg: 'HS256' };
    assert.deepEqual(lines(loadKeys('oct.json', [oct])), [
      `${JWKS}.keys[0]: symmetric (oct) key "hmac" refused: HMAC against a JWKS is never allowed`,
    ]);
  });

  it('a key type or curve named like an Object.prototype member is just unsupported', () => {
    const odd = [
      { kty: 'constructor', kid: 'a', x: 'AAAA' },
      { kty: 'toString', kid: 'b' },
      { ...ecJwk('c'), crv: 'constructor' },
      { ...edJwk('d'), crv: '__proto__' },
    ];
    assert.deepEqual(lines(loadKeys('odd.json', odd)), [
      `${JWKS}.keys[0]: the key "a" has unsupported key type "constructor" (supported: RSA, EC P-256/P-384, OKP Ed25519)`,
      `${JWKS}.keys[1]: the key "b" has unsupported key type "toString" (supported: RSA, EC P-256/P-384, OKP Ed25519)`,
      `${JWKS}.keys[2]: the key "c" uses unsupported curve "constructor" for EC (supported: P-256, P-384)`,
      `${JWKS}.keys[3]: the key "d" uses unsupported curve "__proto__" for OKP (supported: Ed25519)`,
    ]);
  });

  it('refuses private keys', () => {
    assert.deepEqual(lines(loadKeys('private.json', [ecJwk('pub'), privateEcJwk('priv')])), [
      `${JWKS}.keys[1]: JWKS must hold public keys only: key "priv" has private members`,
    ]);
  });

  it('kid is required and unique', () => {
    const { kid: _kid, ...noKid } = ecJwk('x');
    assert.deepEqual(lines(loadKeys('kids.json', [ecJwk('a'), noKid, ecJwk('a')])), [
      `${JWKS}.keys[1]: the key is missing the \`kid\` attribute`,
      `${JWKS}.keys[2]: duplicate kid "a" (also ${JWKS}.keys[0])`,
    ]);
  });

  it('alg must be supported and fit the key type', () => {
    assert.deepEqual(lines(loadKeys('alg.json', [rsaJwk('r', { alg: 'ES256' }), ecJwk('e', { alg: 'ES384' }), ecJwk('n', { alg: 'none' })])), [
      `${JWKS}.keys[0]: the key "r" has algorithm ES256, which does not fit its key type RSA`,
      `${JWKS}.keys[1]: the key "e" has algorithm ES384, which does not fit its key type EC P-256`,
      `${JWKS}.keys[2]: the key "n" has unsupported algorithm "none" (supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)`,
    ]);
  });

  it('keys that do not import, and short RSA keys', () => {
    const bad = { ...ecJwk('bad'), x: 'AAAA' };
    const got = lines(loadKeys('bad.json', [bad, rsaJwk('short', {}, 1024)]));
    assert.equal(got.length, 2);
    assert.match(got[0] ?? '', /^binds\[0\].*\.jwks\.keys\[0\]: could not construct a decoding key for "bad": /);
    assert.equal(got[1], `${JWKS}.keys[1]: could not construct a decoding key for "short": the RSA modulus has 1024 bits; at least 2048 are required`);
  });

  it('skips encryption keys (use: enc) that IdPs publish next to signing keys', () => {
    const p = provider('enc.json', [ecJwk('sig', { use: 'sig' }), rsaJwk('enc', { use: 'enc', alg: 'RSA-OAEP' })]);
    assert.deepEqual(p?.keys.map((k) => k.kid), ['sig']);
  });

  it('carries key_ops; skips keys whose key_ops does not allow "verify", as it skips use: enc', () => {
    const p = provider('ops.json', [ecJwk('verify', { key_ops: ['verify'] }), ecJwk('plain'), rsaJwk('encrypt', { key_ops: ['encrypt', 'wrapKey'] })]);
    assert.deepEqual(
      p?.keys.map((k) => [k.kid, k['key_ops']]),
      [
        ['verify', ['verify']],
        ['plain', undefined],
      ],
    );
    assert.deepEqual(lines(loadKeys('ops-bad.json', [ecJwk('bad', { key_ops: 'verify' })])), [
      `${JWKS}.keys[0]: the key "bad" has \`key_ops\` that is not a list of strings`,
    ]);
  });

  it('inline JWKS JSON and url sources', () => {
    const jwks = JSON.stringify({ keys: [ecJwk('inline')] });
    const inline = withRoute(`policies:\n  jwtAuth:\n    issuer: acme\n    jwks: '${jwks}'`);
    const p = expectOk(loadConfigText(inline, { cwd: cwd.dir, env: {} })).binds[0]?.listeners[0]?.routes[0]?.policies.jwtAuth?.providers[0];
    assert.deepEqual(p?.jwksSource, { kind: 'inline' });
    assert.equal(p?.keys[0]?.kid, 'inline');

    const path = withRoute('policies:\n  jwtAuth:\n    issuer: acme\n    jwks: ./jwks-keyset');
    assert.deepEqual(lines(loadConfigText(path, { cwd: cwd.dir, env: {} })), [
      `${JWKS}: failed to load JWKS: inline JWKS must be JSON text; for a file write \`jwks: {file: <path>}\``,
    ]);
    const url = withRoute('policies:\n  jwtAuth:\n    issuer: acme\n    jwks: {url: "ftp://x"}');
    assert.deepEqual(lines(loadConfigText(url, { cwd: cwd.dir, env: {} })), [`${JWKS}.url: expected an http or https URL`]);
  });
});
