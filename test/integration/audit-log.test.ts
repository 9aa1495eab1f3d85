// The README's audit-log example, run as written: its `config.logging` block, a route with rules,
// and the calls its sample lines show (allowed, denied, upstream down); the lines the gateway
// writes must be those lines, timestamps and durations aside. Requests that are no tool call
// (an initialize, a list, one without a token) write none.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { inSeconds } from '../helpers/keys.js';
import { initializeRequest, isRecord, mcpFetch, rpc } from '../helpers/mcp-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';

/** The YAML block and the sample lines between the README's audit-log markers. */
async function readmeExample(): Promise<{ config: Record<string, unknown>; lines: string[] }> {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = /<!-- audit-log example:[^\n]*-->\n([\s\S]*?)<!-- end of audit-log example -->/.exec(readme)?.[1];
  assert.ok(section !== undefined, 'the README has the audit-log example');
  const yamlBlock = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  const textBlock = /```text\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yamlBlock !== undefined && textBlock !== undefined);
  const config: unknown = parse(yamlBlock);
  assert.ok(isRecord(config));
  return { config, lines: textBlock.split('\n').filter((l) => l !== '') };
}

/** What varies between runs: the timestamp, the duration, an upstream's port. */
function normalized(line: string): string {
  const fields = line.slice(line.indexOf('request ') + 'request '.length);
  return fields.replace(/duration=\d+ms/, 'duration=Nms').replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT');
}

test('the README audit-log example writes the lines the README shows', async (t) => {
  const example = await readmeExample();
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  const token = (sub: string) => keys.issuer.sign({ iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub, exp: inSeconds(3600) });
  const policies = {
    jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' } },
    mcpAuthorization: { rules: ['mcp.tool.name == "echo"', { deny: 'mcp.tool.name == "get-env"' }] },
  };
  const configText = stringify({
    ...example.config,
    binds: [{ port: 0, listeners: [{ routes: [{ policies, backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: up.url } }] } }] }] }] }],
  });
  const gw = await startTestGateway(t, { cwd: keys.dir, configText });
  const [alice, bob] = [await token('alice'), await token('bob')];
  const call = (id: number, name: string, as: string) => mcpFetch(gw.url, rpc(id, 'tools/call', { name, arguments: {} }), { token: as });

  assert.equal((await mcpFetch(gw.url, initializeRequest(), { token: alice })).status, 200);
  assert.equal((await mcpFetch(gw.url, rpc(2, 'tools/list'), { token: alice })).status, 200);
  assert.equal((await call(3, 'echo', '')).status, 401);
  assert.equal((await call(4, 'echo', alice)).status, 200);
  assert.equal((await call(5, 'get-env', bob)).status, 200);
  await up.close();
  assert.equal((await call(6, 'echo', alice)).status, 502);

  const written = gw.log.accessLines();
  assert.equal(written.length, example.lines.length, written.join('\n'));
  assert.deepEqual(written.map(normalized), example.lines.map(normalized));
});
