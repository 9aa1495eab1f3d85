import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Piscina } from 'piscina';
import { decodeFrame, encodeFrame } from '../../../src/protocol/frame-codec.js';
import type { WorkerTask } from '../../../src/protocol/worker-contract.js';
import { createActor, createPolicyEngine } from '../../../src/workers/actor.js';
import { loadPolicyEngineFactory } from '../../../src/main/policy-engine/engine-module.js';
import { NOW, PROVIDER_SET, RULES_LAB, RULES_NONE, claims, init, joseToken, keys, rawToken } from './fixtures.js';

const initFrame = encodeFrame(init);
// The compiled test lives in dist/test/unit/workers/, the actor in dist/src/workers/.
const pool = new Piscina({
  filename: new URL('../../../src/workers/actor.js', import.meta.url).href,
  workerData: { init: initFrame },
  minThreads: 1,
  maxThreads: 1,
  concurrentTasksPerWorker: 16,
  atomics: 'sync',
});
after(() => pool.destroy());

async function tasks(): Promise<readonly WorkerTask[]> {
  const ctx = {
    jwt: { sub: 'alice', roles: ['admin'], exp: NOW + 600, nested: { a: [1, 2.5, null] } },
    mcp: { method: 'tools/call', tool: { name: 'echo', target: 'mcp' } },
    request: { method: 'POST', path: '/mcp', host: 'localhost', headers: { accept: 'application/json' } },
    source: { address: '::1', port: 63358 },
  };
  const body = JSON.stringify({ jsonrpc: '2.0', id: 9, result: { tools: [{ name: 'echo' }, { name: 'add' }] } });
  return [
    { op: 'verify', providerSet: PROVIDER_SET, token: await joseToken(keys.rsa, 'RS256'), now: NOW },
    { op: 'verify', providerSet: PROVIDER_SET, token: await joseToken(keys.ed, 'EdDSA'), now: NOW },
    { op: 'verify', providerSet: PROVIDER_SET, token: await joseToken(keys.ec256, 'ES256'), now: NOW + 3600 },
    { op: 'verify', providerSet: PROVIDER_SET, token: rawToken({ alg: 'none', kid: 'rsa-1' }, claims()), now: NOW },
    { op: 'verify', providerSet: PROVIDER_SET, token: 'a.b', now: NOW },
    { op: 'decide', ruleSet: RULES_LAB, ctx },
    { op: 'decide', ruleSet: RULES_LAB, ctx: { ...ctx, jwt: null } },
    { op: 'decide', ruleSet: RULES_NONE, ctx: { jwt: null, mcp: null, request: null, source: null } },
    { op: 'filter', ruleSet: RULES_LAB, ctx: { ...ctx, mcp: null }, list: 'tools', target: 'mcp', prefix: false, body },
    { op: 'filter', ruleSet: RULES_NONE, ctx: { ...ctx, mcp: null }, list: 'tools', target: 'mcp', prefix: true, body },
    { op: 'filter', ruleSet: RULES_NONE, ctx: { ...ctx, mcp: null }, list: 'tools', target: 'mcp', prefix: false, body },
  ];
}

test('frames round-trip as self-describing plain data in exact-size buffers', () => {
  const value = { op: 'decide', ruleSet: 1, ctx: { jwt: { exp: NOW, f: 1.5, big: 2 ** 40, s: 'é', l: [null, true] }, mcp: null } };
  const a = encodeFrame(value);
  const b = encodeFrame({ other: 1 });
  assert.equal(a.byteOffset, 0);
  assert.equal(a.buffer.byteLength, a.byteLength);
  assert.notEqual(a.buffer, b.buffer);
  assert.deepEqual(decodeFrame(a), value);
  assert.deepEqual(decodeFrame(new Uint8Array(a)), value);
});

test('the main thread takes the actor module\'s engine factory under the protocol\'s name', async () => {
  assert.equal(await loadPolicyEngineFactory(), createPolicyEngine);
});

test('pool, inline frame actor and engine give identical results', async () => {
  const engine = createPolicyEngine(init);
  const actor = createActor(initFrame);
  const table = await tasks();
  const pooled = await Promise.all(table.map(async (t) => decodeFrame(await pool.run(encodeFrame(t)))));
  for (const [i, task] of table.entries()) {
    const direct = engine.run(task);
    assert.deepEqual(pooled[i], direct, `task ${i} (${task.op})`);
    assert.deepEqual(decodeFrame(actor(encodeFrame(task))), direct, `task ${i} inline`);
  }
  // the table exercises both outcomes of each op
  assert.deepEqual(
    pooled.slice(0, 5).map((r) => (r !== null && typeof r === 'object' && 'ok' in r ? r.ok : undefined)),
    [true, true, false, false, false],
  );
});

test('a malformed frame is a programmer error: it throws in the pool and inline', async () => {
  const actor = createActor(initFrame);
  const bad = encodeFrame({ op: 'verify', providerSet: '1', token: 'x', now: NOW });
  assert.throws(() => actor(bad), /not a WorkerTask/);
  await assert.rejects(pool.run(bad), /not a WorkerTask/);
  await assert.rejects(pool.run(encodeFrame({ op: 'decide', ruleSet: 404, ctx: { jwt: null, mcp: null, request: null, source: null } })), RangeError);
  assert.throws(() => createActor(encodeFrame({ generation: 1 })), /not a WorkerInit/);
});
