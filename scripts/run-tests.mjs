#!/usr/bin/env node
// Node 20's `node --test` does not expand globs, so list the compiled test files here
// (as piscina's scripts/run-tests.js does). Usage: node scripts/run-tests.mjs [filter...]; without a
// filter, the integration tests then run again on the fallback front (below). Where no package
// has a uWebSockets.js binary that loads on this Node and C library, the suite runs on the
// fallback front instead; PORTCULLIS_TEST_FRONT=native|fallback makes the run fail when the
// front is not the one expected (CI says which it expects on each runtime).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect('dist/test')
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// A test file whose main thread blocks (a native deadlock: see src/main/cli/key-pairs.ts) never
// answers node:test's own timeouts, and the run would wait for it forever. A pass takes 2-3
// minutes; past the limit its process group is killed and the run fails, naming the cause.
const limitMinutes = Number(process.env.PORTCULLIS_TEST_LIMIT_MINUTES ?? 12);
let current = null;

function pass(testFiles, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=2', ...testFiles], { stdio: 'inherit', detached: true, env });
    current = child;
    const watchdog = setTimeout(() => {
      console.error(`\ntest run still going after ${limitMinutes} minutes: killed (a test file hung; the last files reported above ran beside it)`);
      process.kill(-child.pid, 'SIGKILL');
    }, limitMinutes * 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      resolve(signal === null ? (code ?? 1) : 1);
    });
  });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => current !== null && process.kill(-current.pid, sig));

// Left out on the fallback front: what needs the native binary itself (several processes or
// gateways on one port, uWS apps built by the test).
const nativeOnly = ['processes.test.js', 'legacy-sse-listeners.test.js', 'embedding.test.js'];
const { loadUws } = await import(pathToFileURL(join(process.cwd(), 'dist', 'src', 'main', 'http', 'uws.js')).href);
const front = loadUws(true);
console.log(`# Node ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch}): ${front.native ? `native front from ${front.source}` : 'no native front: the suite runs on the node:http fallback front'}`);
if (!front.native) console.log(front.source.replace(/^/gm, '# '));
const expected = process.env.PORTCULLIS_TEST_FRONT;
if (expected !== undefined && expected !== (front.native ? 'native' : 'fallback')) {
  console.error(`PORTCULLIS_TEST_FRONT=${expected}, but this runtime has ${front.native ? 'the native front' : 'no native front'}`);
  process.exit(1);
}
if (!front.native) {
  const onFallback = files.filter((f) => !nativeOnly.some((n) => f.endsWith(n)));
  process.exit(await pass(onFallback, { ...process.env, PORTCULLIS_ALLOW_UWS_FALLBACK: '1' }));
}

let code = await pass(files, process.env);
// The whole run (no filter) passes the integration tests a second time on the opt-in fallback
// front (src/main/http/node-front.ts): uWS's native binary kept from loading by a preload, as on
// a platform it has no build for. The refusal and opt-in tests set up the same themselves.
if (code === 0 && filters.length === 0) {
  console.log('\n# second pass: the integration tests on the node:http fallback front\n');
  const preload = join(process.cwd(), 'test', 'fixtures', 'no-native-uws.cjs');
  const own = ['uws-native.test.js', 'uws-fallback.test.js'];
  const onFallback = files.filter((f) => f.includes(join('test', 'integration')) && ![...nativeOnly, ...own].some((n) => f.endsWith(n)));
  code = await pass(onFallback, {
    ...process.env,
    PORTCULLIS_ALLOW_UWS_FALLBACK: '1',
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(preload)}`.trim(),
  });
}
process.exit(code);
