// `portcullis keys` and `portcullis token` as the lab uses them (step's replacements), run
// in-process with a fake CliIo; tokens are checked with jose against the keyset the CLI wrote.
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import type { CliIo } from '../../../src/main/cli/io.js';
import { parseJwk } from '../../../src/main/cli/jwk.js';
import { addToKeyset, createKeyPair, KEY_ALGS, readKeyset, runKeysCommand } from '../../../src/main/cli/keys.js';
import { DEFAULT_TOKEN_LIFETIME_SECONDS, runTokenCommand, signToken } from '../../../src/main/cli/token.js';
import { tempDir } from '../../helpers/files.js';
import { inSeconds, makeIssuer, publicKeyPem, signRaw } from '../../helpers/keys.js';

interface FakeIo {
  readonly io: CliIo;
  stdout(): string;
  stderr(): string;
}

function fakeIo(cwd: string, stdin: string | null = null): FakeIo {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (s) => out.push(s), stderr: (s) => err.push(s), readStdin: async () => stdin, cwd },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

async function readJwk(path: string): Promise<JWK> {
  return parseJwk(await readFile(path, 'utf8'), path);
}

/** The lab's three step commands, with portcullis instead; returns the working directory. */
async function labKeys(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const dir = await tempDir(t);
  const create = fakeIo(dir);
  assert.equal(await runKeysCommand(['create', 'pub-key', 'priv-key', '--no-password', '--insecure'], create.io), 0, create.stderr());
  const add = fakeIo(dir, await readFile(join(dir, 'pub-key'), 'utf8'));
  assert.equal(await runKeysCommand(['add', 'jwks-keyset'], add.io), 0, add.stderr());
  return dir;
}

async function sign(dir: string, args: readonly string[], stdin: string | null = null): Promise<{ code: number; token: string; stderr: string }> {
  const io = fakeIo(dir, stdin);
  const code = await runTokenCommand(['sign', ...args], io.io);
  return { code, token: io.stdout().trim(), stderr: io.stderr() };
}

test('keys create writes a P-256 pair like step, private file 0600, and --keyset adds the public key', async (t) => {
  const dir = await tempDir(t);
  const io = fakeIo(dir);
  assert.equal(await runKeysCommand(['create', 'pub-key', 'priv-key', '--keyset', 'jwks-keyset'], io.io), 0, io.stderr());

  const pub = await readJwk(join(dir, 'pub-key'));
  const priv = await readJwk(join(dir, 'priv-key'));
  assert.deepEqual([pub.kty, pub.crv, pub.alg, pub.use], ['EC', 'P-256', 'ES256', 'sig']);
  assert.equal(pub.kid, await calculateJwkThumbprint(pub, 'sha256'));
  assert.equal(priv.kid, pub.kid);
  assert.equal(pub.d, undefined);
  assert.equal(typeof priv.d, 'string');
  assert.equal((await stat(join(dir, 'priv-key'))).mode & 0o777, 0o600);

  const keyset = await readKeyset(join(dir, 'jwks-keyset'));
  assert.deepEqual(keyset.keys, [pub]);
});

test('keys create refuses to overwrite without --force, and --force leaves the private file 0600', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'priv-key'), 'old', { mode: 0o644 });
  const refused = fakeIo(dir);
  assert.equal(await runKeysCommand(['create', 'pub-key', 'priv-key'], refused.io), 1);
  assert.match(refused.stderr(), /already exists/);
  assert.equal(await readFile(join(dir, 'priv-key'), 'utf8'), 'old');

  const forced = fakeIo(dir);
  assert.equal(await runKeysCommand(['create', 'pub-key', 'priv-key', '--force', '--alg', 'EdDSA'], forced.io), 0, forced.stderr());
  assert.equal((await readJwk(join(dir, 'priv-key'))).crv, 'Ed25519');
  assert.equal((await stat(join(dir, 'priv-key'))).mode & 0o777, 0o600);
});

test('keys add reads the key from stdin or a file, replaces the same kid, and refuses private keys', async (t) => {
  const dir = await labKeys(t);
  const keysetPath = join(dir, 'jwks-keyset');
  const first = await readKeyset(keysetPath);
  assert.equal(first.keys.length, 1);

  const again = fakeIo(dir);
  assert.equal(await runKeysCommand(['add', 'jwks-keyset', 'pub-key'], again.io), 0, again.stderr());
  assert.deepEqual(await readKeyset(keysetPath), first, 'same kid is replaced, not duplicated');

  const other = await createKeyPair({ alg: 'RS256' });
  await addToKeyset(keysetPath, other.publicJwk);
  assert.deepEqual((await readKeyset(keysetPath)).keys.map((k) => k.kid), [first.keys[0]?.kid, other.publicJwk.kid]);

  const priv = fakeIo(dir);
  assert.equal(await runKeysCommand(['add', 'jwks-keyset', 'priv-key'], priv.io), 1);
  assert.match(priv.stderr(), /private key/);
  await assert.rejects(addToKeyset(keysetPath, other.privateJwk), /private key/);

  const none = fakeIo(dir, null);
  assert.equal(await runKeysCommand(['add', 'jwks-keyset'], none.io), 1);
  assert.match(none.stderr(), /no public key/);

  const junk = fakeIo(dir, '{"hello": 1}');
  assert.equal(await runKeysCommand(['add', 'jwks-keyset'], junk.io), 1);
  assert.match(junk.stderr(), /not a JWK/);
  assert.equal((await readKeyset(keysetPath)).keys.length, 2);
});

test('token sign with stdin claims verifies against the keyset and carries iss/aud/sub/exp/roles', async (t) => {
  const dir = await labKeys(t);
  const exp = inSeconds(10 * 365 * 24 * 3600);
  const { code, token, stderr } = await sign(
    dir,
    ['--key', 'priv-key', '--iss', 'acme@example.com', '--aud=mcp.example.com', '--sub', 'pointy-haired-boss', '--exp', String(exp)],
    '{ "roles": ["admin"] }\n',
  );
  assert.equal(code, 0, stderr);

  const keyset = await readKeyset(join(dir, 'jwks-keyset'));
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(keyset), {
    issuer: 'acme@example.com',
    audience: 'mcp.example.com',
  });
  assert.equal(payload.sub, 'pointy-haired-boss');
  assert.equal(payload.aud, 'mcp.example.com');
  assert.equal(payload.exp, exp);
  assert.deepEqual(payload['roles'], ['admin']);
  assert.equal(typeof payload.iat, 'number');
  assert.deepEqual(protectedHeader, { alg: 'ES256', kid: keyset.keys[0]?.kid, typ: 'JWT' });
});

test('token sign: repeated --aud gives an array, no stdin gives no extra claims, exp defaults to 5 minutes', async (t) => {
  const dir = await labKeys(t);
  const keyset = createLocalJWKSet(await readKeyset(join(dir, 'jwks-keyset')));
  const { code, token, stderr } = await sign(dir, ['--key', 'priv-key', '--aud', 'a.example', '--aud=b.example', '--nbf', '1000'], null);
  assert.equal(code, 0, stderr);
  const { payload } = await jwtVerify(token, keyset, { audience: 'b.example' });
  assert.deepEqual(payload.aud, ['a.example', 'b.example']);
  assert.equal(payload.nbf, 1000);
  assert.equal(payload.exp, (payload.iat ?? 0) + DEFAULT_TOKEN_LIFETIME_SECONDS);
  assert.deepEqual(Object.keys(payload).sort(), ['aud', 'exp', 'iat', 'nbf']);

  const blank = await sign(dir, ['--key', 'priv-key', '--sub', 'x'], '  \n');
  assert.equal(blank.code, 0, blank.stderr);
});

test('token sign: bad input is a message on stderr and exit code 1', async (t) => {
  const dir = await labKeys(t);
  const cases: ReadonlyArray<readonly [readonly string[], string | null, RegExp]> = [
    [['--iss', 'x'], null, /^token sign: --key is required\n$/],
    [['--key', 'priv-key'], '[1, 2]', /^token sign: stdin is not a JSON object\n$/],
    [['--key', 'priv-key'], 'roles=admin', /^token sign: stdin is not a JSON object\n$/],
    [['--key', 'priv-key', '--exp', 'tomorrow'], null, /--exp must be a Unix time/],
    [['--key', 'pub-key'], null, /public key/],
    [['--key', 'missing-key'], null, /ENOENT/],
    [['--key', 'priv-key', '--bogus'], null, /^token sign: .*--bogus/],
  ];
  for (const [args, stdin, message] of cases) {
    const io = fakeIo(dir, stdin);
    assert.equal(await runTokenCommand(['sign', ...args], io.io), 1, args.join(' '));
    assert.match(io.stderr(), message);
    assert.equal(io.stdout(), '');
  }
  const unknown = fakeIo(dir);
  assert.equal(await runTokenCommand(['verify'], unknown.io), 1);
  assert.match(unknown.stderr(), /unknown subcommand "verify"/);
});

test('every supported algorithm signs tokens that verify against its public key', async () => {
  for (const alg of KEY_ALGS) {
    const { privateJwk, publicJwk } = await createKeyPair({ alg });
    const token = await signToken({ privateJwk, sub: alg, exp: inSeconds(60) });
    assert.equal(decodeProtectedHeader(token).alg, alg);
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: [publicJwk] }));
    assert.equal(payload.sub, alg);
  }
});

test('helper issuers sign exactly the claims given; hostile tokens do not verify', async () => {
  for (const alg of KEY_ALGS) {
    const issuer = await makeIssuer({ alg, kid: `k-${alg}` });
    const token = await issuer.sign({ sub: 'u', exp: inSeconds(60) });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(issuer.jwks));
    assert.deepEqual(Object.keys(payload).sort(), ['exp', 'sub']);
    assert.deepEqual(protectedHeader, { alg, kid: `k-${alg}`, typ: 'JWT' });
  }
  const issuer = await makeIssuer();
  const jwks = createLocalJWKSet(issuer.jwks);
  const claims = { sub: 'u', exp: inSeconds(60) };
  const none = signRaw({ alg: 'none', kid: issuer.kid }, claims, 'none');
  assert.match(none, /\.$/);
  await assert.rejects(jwtVerify(none, jwks));
  const hs = signRaw({ alg: 'HS256', kid: issuer.kid }, claims, { hmacSecret: publicKeyPem(issuer.publicJwk) });
  await assert.rejects(jwtVerify(hs, jwks));
  const noKid = await issuer.sign(claims, { kid: undefined });
  assert.equal(decodeProtectedHeader(noKid).kid, undefined);
});
