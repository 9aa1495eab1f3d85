// What a stdio server writes is read with caps: a stdout line (one message) past 64 MiB ends the
// session with a clear error, a stderr line is logged cut to a few KiB, and a flood of stderr
// lines is logged at a bounded rate. Without caps a server writing no line break grew the
// gateway's memory until an uncaught RangeError (string too long) ended the process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { errorOf, initializeRequest, mcpFetch, rpc } from '../helpers/mcp-http.js';

/** Answers every request with an initialize result, after `before` (JavaScript) has run. */
function server(before: string): string {
  return `${before};
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const m = JSON.parse(l);
  if (m.id !== undefined) process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } }) + '\\n');
});`;
}

async function gatewayFor(t: test.TestContext, script: string): Promise<TestGateway> {
  const target = { name: 's', stdio: { cmd: process.execPath, args: ['-e', script] } };
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [target] } }] }] }] }] });
  return startTestGateway(t, { configText });
}

test('a stdout line past 64 MiB (no line break, ever) ends the session: the client gets an error, the gateway lives on', { timeout: 30_000 }, async (t) => {
  const gw = await gatewayFor(t, `
const chunk = 'z'.repeat(1 << 20);
const pump = () => { while (process.stdout.write(chunk)); process.stdout.once('drain', pump); };
pump();
process.stdin.resume();`);
  const init = await mcpFetch(gw.url, initializeRequest());
  assert.equal(init.status, 502, init.text);
  assert.match(String(errorOf(init).message), /stdout line \(one message\) longer than 64 MiB/);
  await gw.log.waitFor(/session closed: stdout line longer than 64 MiB/);
  // Still serving.
  const next = await mcpFetch(gw.url, rpc(2, 'tools/list'));
  assert.equal(next.status, 400, next.text);
  assert.match(String(errorOf(next).message), /needs a session/);
});

test('a stderr line is logged cut to 4 KiB, however long it is', { timeout: 60_000 }, async (t) => {
  const gw = await gatewayFor(t, server(`process.stderr.write('e'.repeat(10 << 20)); process.stderr.write('\\nafter the long line\\n')`));
  const init = await mcpFetch(gw.url, initializeRequest());
  assert.equal(init.status, 200, init.text);
  await gw.log.waitFor(/after the long line/);
  const cut = gw.log.lines.find((l) => l.includes('eeee'));
  assert.ok(cut !== undefined);
  assert.ok(cut.length < 8192, `a logged line of ${cut.length} characters`);
  assert.match(cut, /… \(10481664 more bytes of this line not logged\)/);
});

test('a flood of stderr lines is logged at a bounded rate, the lines left out counted', { timeout: 60_000 }, async (t) => {
  // 20 MB in 1 KiB lines, then the process exits — once stderr has taken them all: exit()
  // drops writes still queued (a run under load once counted 3 lines fewer than were sent).
  const gw = await gatewayFor(t, server(`
const line = 'f'.repeat(1023) + '\\n';
let n = 0;
const pump = () => { while (n < 20000) { n++; if (!process.stderr.write(line)) { process.stderr.once('drain', pump); return; } } process.stderr.write('', () => process.exit(0)); };
pump()`));
  await mcpFetch(gw.url, initializeRequest());
  const skipped = await gw.log.waitFor(/stderr closed; \d+ of its lines in all not logged \(over 64 KiB a second\)/, { timeoutMs: 20_000 });
  const n = Number(/; (\d+) of its lines/.exec(skipped)?.[1]);
  assert.ok(n > 10_000, skipped);
  const logged = gw.log.lines.filter((l) => l.includes('ffff'));
  assert.ok(logged.length + n === 20000, `${logged.length} logged, ${n} not`);
  assert.ok(logged.length < 1000, `${logged.length} lines logged`);
});
