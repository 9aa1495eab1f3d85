// A list answered from the list cache leaves the gateway byte for byte as the first, filtered one
// did (but for its id), however the upstream spells its text: characters beyond ASCII, a byte
// order mark, line separators, escapes; and bytes that are no UTF-8 read as the text path reads
// them, the second time as the first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayYaml, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { MCP_ACCEPT, rpc } from '../helpers/mcp-http.js';
import { startStub } from '../helpers/stub-upstream.js';

const tools = [
  { name: 'echo', description: 'Répète — 回声 🦀 \u2028 \uFEFF', inputSchema: { type: 'object' } },
  { name: 'get-env', description: 'secret ünd geheim', inputSchema: { type: 'object' } },
  { name: 'e\u0301cho', description: 'combining accent' },
];

/** The upstream's list answer: JSON text, or with a byte that is no UTF-8 in a description. */
function listAnswer(id: unknown, broken: boolean): Buffer {
  const text = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"tools":${JSON.stringify(tools)}}}`;
  if (!broken) return Buffer.from(text);
  const at = text.indexOf('combining');
  return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xff, 0xc3]), Buffer.from(text.slice(at))]);
}

async function rawList(url: string, token: string, id: number, answer: string): Promise<Buffer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { accept: MCP_ACCEPT, 'content-type': 'application/json', connection: 'close', authorization: `Bearer ${token}`, 'x-answer': answer },
    body: JSON.stringify(rpc(id, 'tools/list')),
  });
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

test('a remembered list is sent as the filtered one was, byte for byte, for UTF-8 and for bytes that are not', async (t) => {
  const keys = await labKeys(t);
  const up = await startStub(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(listAnswer(req.id, req.headers['x-answer'] === 'broken'));
  });
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url, rules: [{ deny: 'mcp.tool.name == "get-env"' }] }) });
  for (const answer of ['utf8', 'broken']) {
    const first = await rawList(gw.url, keys.admin, 1, answer);
    const text = first.toString('utf8');
    assert.ok(!text.includes('get-env'), text);
    assert.ok(text.includes('"name":"echo"') && text.includes('e\u0301cho'), text);
    for (const id of [2, 30_000]) {
      const again = await rawList(gw.url, keys.admin, id, answer);
      assert.ok(again.equals(Buffer.from(text.replace('"id":1,', `"id":${id},`))), `${answer}, id ${id}: ${again.toString('utf8')}`);
    }
    if (answer === 'broken') {
      // As the text path reads it: the stray bytes became U+FFFD, both times.
      assert.ok(!first.includes(Buffer.from([0xff])));
      assert.ok(text.includes('\uFFFD'));
    }
  }
});
