import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../src/main/heap-growth.js';

test('the heap growing factor is set unless the operator set one', () => {
  const ours = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
  assert.equal(heapGrowthFlag([], undefined), ours);
  assert.equal(heapGrowthFlag(['--max-old-space-size=512'], '--enable-source-maps'), ours);
  assert.equal(heapGrowthFlag(['--heap-growing-percent=50'], undefined), null);
  assert.equal(heapGrowthFlag(['--heap_growing_percent', '50'], undefined), null);
  assert.equal(heapGrowthFlag([], '--max-old-space-size=512 --heap-growing-percent=20'), null);
});

test('a process that set it goes through full collections under load', () => {
  // v8.setFlagsFromString of some GC flags aborts the process at the next full collection:
  // this one must not.
  const heapGrowth = fileURLToPath(new URL('../../src/main/heap-growth.js', import.meta.url));
  const script = `
    const { setHeapGrowth } = await import(${JSON.stringify(heapGrowth)});
    setHeapGrowth();
    let keep = [];
    for (let i = 0; i < 200_000; i++) { keep.push({ i, s: 'x'.repeat(i % 64) }); if (keep.length > 50_000) keep = []; }
    globalThis.gc(); globalThis.gc();
    process.stdout.write('ok');`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ok');
});
