// Key pairs from newKeyPair(Sync) can be exported while the garbage collector finalizes the jobs
// that generated them. Node 20 deadlocks on a KeyObject straight from generateKeyPair(Sync) there
// (a CI run hung in export({ format: 'jwk' })); a loop of generate + export under a tiny young
// generation hangs within its first iterations.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { newKeyPair, newKeyPairSync } from '../../../src/main/cli/key-pairs.js';

const modulePath = fileURLToPath(new URL('../../../src/main/cli/key-pairs.js', import.meta.url));

test('keys generated and exported as JWK in a loop, with the collector running all the while, never deadlock', async () => {
  const script = `
    const { newKeyPairSync } = await import(${JSON.stringify(modulePath)});
    const kept = [];
    for (let i = 0; i < 500; i++) {
      const { publicKey, privateKey } = newKeyPairSync({ type: 'rsa', modulusLength: 512 });
      for (let j = 0; j < 10; j++) kept.push(publicKey.export({ format: 'jwk' }), privateKey.export({ format: 'jwk' }));
      if (kept.length > 1000) kept.length = 0;
    }
    process.stdout.write('done');
  `;
  const child = spawn(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  // A deadlocked child never exits: bound the wait, then kill it.
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  assert.equal(code, 0, 'the loop finished (a deadlocked child is killed after 60 s)');
  assert.equal(out, 'done');
});

test('every key type the CLI offers, sync and on the thread pool, signs what its public half verifies', async () => {
  const { sign, verify } = await import('node:crypto');
  for (const spec of [{ type: 'rsa', modulusLength: 2048 }, { type: 'ec', namedCurve: 'P-256' }, { type: 'ec', namedCurve: 'P-384' }, { type: 'ed25519' }] as const) {
    for (const pair of [newKeyPairSync(spec), await newKeyPair(spec)]) {
      const data = Buffer.from('portcullis');
      const digest = spec.type === 'ed25519' ? null : 'sha256';
      assert.ok(verify(digest, data, pair.publicKey, sign(digest, data, pair.privateKey)), JSON.stringify(spec));
      assert.equal(pair.privateKey.type, 'private');
      assert.equal(pair.publicKey.type, 'public');
    }
  }
});
