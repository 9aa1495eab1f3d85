// The filter op works on the message text (a strict scan, the original bytes sliced) instead of
// JSON.parse + JSON.stringify. Here: it answers exactly what the parse-based implementation did
// (kept below, as it was) for every valid message, and refuses the list where the text could be
// read two ways (duplicate members on the way to an item's name) or is not JSON at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CelContext, ListKind, RuleInit } from '../../../src/protocol/worker-contract.js';
import { compileRuleSet, type CompiledRuleSet } from '../../../src/workers/cel/compile.js';
import { filterList, type FilterRequest } from '../../../src/workers/filter-list.js';
import { isJsonObject } from '../../../src/workers/jwt/decode.js';
import { ALLOW_RULE, tools } from '../../../bench/fixtures.js';
import { parseBasedFilterList } from '../../../bench/parse-based-filter.js';
import { parses } from '../../helpers/json.js';


const ctx: CelContext = {
  jwt: { sub: 'bench', roles: ['admin'] },
  mcp: null,
  request: { method: 'POST', path: '/mcp', host: 'localhost', headers: {} },
  source: null,
};

function rules(list: readonly RuleInit[]): CompiledRuleSet {
  return compileRuleSet({ id: 1, rules: list });
}

const RULE_SETS: ReadonlyArray<readonly [string, CompiledRuleSet]> = [
  ['no rules', rules([])],
  ['bench rule', rules([{ kind: 'allow', expr: ALLOW_RULE }])],
  ['echo for admins', rules([{ kind: 'allow', expr: 'mcp.tool.name == "echo" && "admin" in jwt.roles' }])],
  ['public resources', rules([{ kind: 'allow', expr: 'mcp.method == "resources/read" && mcp.resource.name.startsWith("file:///public/")' }])],
  [
    'deny + require',
    rules([
      { kind: 'deny', expr: 'has(mcp.prompt) && mcp.prompt.name == "secret"' },
      { kind: 'require', expr: 'jwt.sub == "bench"' },
    ]),
  ],
];

const LISTS: readonly ListKind[] = ['tools', 'prompts', 'resources', 'resourceTemplates'];

const message = (result: unknown, id: unknown = 2): string => JSON.stringify({ jsonrpc: '2.0', id, result });

// Bodies JSON.stringify wrote (compact): the new filter must produce the very same bytes.
const COMPACT: ReadonlyArray<readonly [string, string]> = [
  ['20 tools', message({ tools: tools(20) })],
  ['200 tools', message({ tools: tools(200), nextCursor: 'c2' })],
  [
    'prompts',
    message({
      prompts: [
        { name: 'greet', arguments: [{ name: 'who', required: true }] },
        { name: 'secret', description: 'x' },
        { name: 'echo' },
        { name: 'write_9' },
      ],
    }),
  ],
  [
    'resources by uri',
    message({
      resources: [
        { uri: 'file:///public/a.txt', name: 'a' },
        { uri: 'file:///secret/b.txt', name: 'file:///public/b.txt', annotations: { uri: 'file:///public/x' } },
        { name: 'no uri' },
      ],
      nextCursor: 'n',
    }),
  ],
  [
    'resource templates',
    message({
      resourceTemplates: [
        { uriTemplate: 'file:///public/{name}', name: 'pub' },
        { uriTemplate: 'db://{table}', name: 'db', uri: 'file:///public/y' },
      ],
    }),
  ],
  [
    'items the item name is nested in, not its own',
    message({
      tools: [
        { inputSchema: { name: 'echo', properties: { name: { type: 'string' } } }, name: 'write_1' },
        { meta: { name: 'echo' } },
        { annotations: [{ name: 'echo' }], name: 'read_2', title: 'name' },
        { name: 'echo', inputSchema: { type: 'object', properties: { name: { const: 'write_3' } } } },
      ],
    }),
  ],
  [
    'not objects, names not strings',
    message({
      tools: [{ name: 'echo' }, 'echo', 7, null, true, [{ name: 'echo' }], { name: 7 }, { name: null }, { name: { x: 1 } }, { name: ['echo'] }, {}],
    }),
  ],
  ['unicode and escapes in names', message({ tools: [{ name: 'écho' }, { name: 'ec"ho' }, { name: 'read_🚀\n\\' }, { name: 'echo\u2028' }, { name: '\ud800' }] })],
  ['empty list', message({ tools: [] })],
  ['one item', message({ tools: [{ name: 'read_0' }] })],
  ['id after result, list after other members', JSON.stringify({ result: { nextCursor: 'x', tools: [{ name: 'echo' }, { name: 'write_1' }] }, id: 'abc', jsonrpc: '2.0' })],
  ['result and error both', JSON.stringify({ jsonrpc: '2.0', id: 3, error: { code: 1, message: 'm' }, result: { tools: [{ name: 'write_1' }, { name: 'echo' }] } })],
  ['an error response', JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'nope', data: { result: { tools: [] } } } })],
  ['result an array', message([{ tools: [{ name: 'write_1' }] }])],
  ['result a string', message('tools')],
  ['result null', message(null)],
  ['list an object', message({ tools: { name: 'write_1' } })],
  ['list a string', message({ tools: 'write_1' })],
  ['list null', message({ tools: null, prompts: [{ name: 'p' }] })],
  ['no list', message({})],
  ['__proto__ members', '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","__proto__":{"name":"x"}},{"__proto__":{"name":"echo"}}]}}'],
  ['top level an array', JSON.stringify([{ jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'write_1' }] } }])],
  ['top level a string', '"result"'],
  ['top level null', 'null'],
];

// Bodies written by hand: escapes in member names, whitespace everywhere, number spellings,
// duplicate members away from the walked path.
const HAND: ReadonlyArray<readonly [string, string]> = [
  ['pretty-printed', JSON.stringify(JSON.parse(message({ tools: tools(20) })), null, 2)],
  ['tabs and CRLF', JSON.stringify(JSON.parse(message({ tools: tools(5), nextCursor: 'c' })), null, '\t').replace(/\n/g, '\r\n')],
  [
    'escaped member names and values',
    String.raw`{"jsonrpc":"2.0","id":"req-\u0031","r\u0065sult":{"t\u006fols":[{"na\u006de":"echo","description":"say \"hi\"\n"},{"name":"ec\"ho"},{"name":"read_\u0031"},{"name":"write_\ud83d\ude80"},{"\u006eame":"e\u0063ho","nam":"write_2","names":"write_3"}],"pr\u006fmpts":[{"name":"p"}]}}`,
  ],
  [
    'escaped uri names',
    String.raw`{"jsonrpc":"2.0","id":5,"result":{"resources":[{"ur\u0069":"file:\/\/\/public\/a"},{"uri":"file:///secret/\u0062"}],"resourceTemplates":[{"uri\u0054emplate":"file:\/\/\/public\/{x}"}]}}`,
  ],
  [
    'whitespace around every token',
    ' \r\n\t{ "jsonrpc" : "2.0" ,\n\t"id"\n:\n7 , "result" : { "nextCursor" : null , "tools" : [ { "name" : "echo" , "x" : [ 1 , 2 ] } ,\r\n { "name":"write_1" } , { "name" : "read_2" } ] , "prompts" : [ ] } }\n\t ',
  ],
  ['whitespace inside an empty list', '{"jsonrpc":"2.0","id":1,"result":{"tools":[ \n ]}}'],
  ['raw unicode', '{"jsonrpc":"2.0","id":"é","result":{"tools":[{"name":"读_1","description":"🚀\u2028"},{"name":"echo","title":"ÿ"}]}}'],
  ['number spellings', '{"jsonrpc":"2.0","id":1.50,"result":{"tools":[{"name":"echo","n":[1E2,-0.0,1e-7,12345678901234567890,0.1e+1]},{"name":"write_1","m":-1}],"nextCursor":2.50e1}}'],
  [
    'duplicates off the walked path',
    '{"jsonrpc":"1.0","jsonrpc":"2.0","id":1,"result":{"nextCursor":"a","nextCursor":"b","tools":[{"name":"echo","description":"x","description":"y","inputSchema":{"name":"a","name":"b"}},{"name":"write_1","title":"t","title":"u"}],"prompts":[{"name":"p","title":"q","title":"r"}]}}',
  ],
  ['nested arrays of items', '{"jsonrpc":"2.0","id":1,"result":{"tools":[[{"name":"echo"}],{"name":"echo","a":[[[]],[{}]]},[]]}}'],
];

function canonical(text: string): string {
  return JSON.stringify(JSON.parse(text));
}

test('the text filter answers as the parse-based one did, for every body, list, rule set and prefix', () => {
  let compared = 0;
  for (const [label, body] of [...COMPACT, ...HAND]) {
    for (const list of LISTS) {
      for (const [ruleLabel, ruleSet] of RULE_SETS) {
        for (const prefix of [false, true]) {
          const where = `${label} / ${list} / ${ruleLabel}${prefix ? ' / prefix' : ''}`;
          const req: FilterRequest = { ctx, list, target: 'mcp', prefix, body };
          const before = parseBasedFilterList(ruleSet, req);
          const after = filterList(ruleSet, req);
          assert.deepEqual([after.kept, after.removed, after.ruleErrors], [before.kept, before.removed, before.ruleErrors], where);
          assert.equal(after.body === null, before.body === null, where);
          // What a client reads (JSON.parse) is the same; where the number text differs (`1.50`
          // stays `1.50` now), both still read as the same value.
          assert.equal(canonical(after.body ?? body), canonical(before.body ?? body), where);
          compared++;
        }
      }
    }
  }
  assert.equal(compared, (COMPACT.length + HAND.length) * LISTS.length * RULE_SETS.length * 2);
});

test('for compact bodies the very bytes are the same as before', () => {
  for (const [label, body] of COMPACT) {
    for (const list of LISTS) {
      for (const [ruleLabel, ruleSet] of RULE_SETS) {
        for (const prefix of [false, true]) {
          const req: FilterRequest = { ctx, list, target: 'mcp', prefix, body };
          assert.equal(filterList(ruleSet, req).body, parseBasedFilterList(ruleSet, req).body, `${label} / ${list} / ${ruleLabel}${prefix ? ' / prefix' : ''}`);
        }
      }
    }
  }
});

test('kept items keep their original text, whitespace and escapes included; renames splice in', () => {
  const body = '{"jsonrpc":"2.0","id":1,"result":{"tools":[ {"name":"write_0"} , { "n\\u0061me" : "echo" ,"d":"\\u0041"},\n{"name":"read_1","x":1.50}\n]}}';
  const r = filterList(rules([{ kind: 'allow', expr: ALLOW_RULE }]), { ctx, list: 'tools', target: 'mcp', prefix: false, body });
  assert.equal(r.body, '{"jsonrpc":"2.0","id":1,"result":{"tools":[ { "n\\u0061me" : "echo" ,"d":"\\u0041"},{"name":"read_1","x":1.50}\n]}}');
  const p = filterList(rules([]), { ctx, list: 'tools', target: 'a"b', prefix: true, body });
  assert.equal(p.body, '{"jsonrpc":"2.0","id":1,"result":{"tools":[ {"name":"a\\"b_write_0"},{ "n\\u0061me" : "a\\"b_echo" ,"d":"\\u0041"},{"name":"a\\"b_read_1","x":1.50}\n]}}');
  // numbers the old re-serialisation would have changed reach the client as sent
  const big = '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","max":1e400,"z":-0},{"name":"write_1"}]}}';
  const b = filterList(rules([{ kind: 'allow', expr: ALLOW_RULE }]), { ctx, list: 'tools', target: 'mcp', prefix: false, body: big });
  assert.equal(b.body, '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","max":1e400,"z":-0}]}}');
});

test('deeply nested item content is scanned without recursion', () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const body = `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","inputSchema":${deep}},{"name":"write_1"}]}}`;
  const r = filterList(rules([{ kind: 'allow', expr: ALLOW_RULE }]), { ctx, list: 'tools', target: 'mcp', prefix: false, body });
  assert.deepEqual([r.kept, r.removed], [1, 1]);
  assert.equal(r.body, `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","inputSchema":${deep}}]}}`);
});

// ---------------------------------------------------------------------------------------------
// fail closed

const refusal = (id: string | number | null): unknown => ({ jsonrpc: '2.0', id, error: { code: -32603, message: 'upstream answer could not be filtered' } });

function refusedWith(body: string, list: ListKind = 'tools', ruleSet: CompiledRuleSet = rules([])): unknown {
  for (const prefix of [false, true]) {
    const r = filterList(ruleSet, { ctx, list, target: 'mcp', prefix, body });
    assert.ok(r.body !== null, `${body} passed on unchanged`);
    const answer: unknown = JSON.parse(r.body);
    assert.ok(isJsonObject(answer) && answer['error'] !== undefined && answer['result'] === undefined, `${body} → ${r.body}`);
    assert.deepEqual([r.kept, r.removed], [0, 0]);
    if (!prefix) return answer;
  }
  return null;
}

test('a duplicate `result` refuses the list, whichever copy a client would read', () => {
  const cases: Array<readonly [string, string | number | null]> = [
    ['{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"echo"}]},"result":{"tools":[{"name":"write_1"}]}}', 7],
    [String.raw`{"jsonrpc":"2.0","id":7,"result":{"tools":[]},"r\u0065sult":{"tools":[{"name":"write_1"}]}}`, 7],
    ['{"jsonrpc":"2.0","result":1,"result":{"tools":[{"name":"write_1"}]},"id":"late"}', 'late'],
    ['{"jsonrpc":"2.0","id":1,"result":{},"result":{}}', 1],
  ];
  for (const [body, id] of cases) assert.deepEqual(refusedWith(body), refusal(id), body);
});

test('a duplicate list member in `result` refuses the list', () => {
  const cases: Array<readonly [string, ListKind]> = [
    ['{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}],"tools":[{"name":"write_1"}]}}', 'tools'],
    [String.raw`{"jsonrpc":"2.0","id":1,"result":{"tools":[],"t\u006fols":[{"name":"write_1"}]}}`, 'tools'],
    ['{"jsonrpc":"2.0","id":1,"result":{"tools":null,"tools":[{"name":"write_1"}]}}', 'tools'],
    ['{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"a"}],"resources":[{"uri":"b"}]}}', 'resources'],
  ];
  for (const [body, list] of cases) assert.deepEqual(refusedWith(body, list), refusal(1), body);
  // another list's duplicates are not in the way
  const other = '{"jsonrpc":"2.0","id":1,"result":{"prompts":[],"prompts":[],"tools":[{"name":"echo"}]}}';
  const r = filterList(rules([]), { ctx, list: 'tools', target: 'mcp', prefix: false, body: other });
  assert.deepEqual([r.body, r.kept, r.removed, r.ruleErrors], [null, 1, 0, 0]);
});

test('a duplicate name member in an item refuses the list', () => {
  const cases: Array<readonly [string, ListKind]> = [
    ['{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","name":"write_1"}]}}', 'tools'],
    [String.raw`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"echo","n\u0061me":"write_1"}]}}`, 'tools'],
    ['{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":1,"name":"echo"}]}}', 'tools'],
    ['{"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"write_1","name":"write_2"}]}}', 'prompts'],
    ['{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"file:///public/a","uri":"file:///secret/b"}]}}', 'resources'],
    ['{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[{"uriTemplate":"a","uriTemplate":"b"}]}}', 'resourceTemplates'],
  ];
  const bench = rules([{ kind: 'allow', expr: ALLOW_RULE }]);
  for (const [body, list] of cases) {
    assert.deepEqual(refusedWith(body, list), refusal(1), body);
    assert.deepEqual(refusedWith(body, list, bench), refusal(1), body);
  }
  // the name member of another kind of item may repeat: it is not the name judged
  const uris = '{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"x://a","name":"a","name":"b"}]}}';
  assert.equal(filterList(rules([]), { ctx, list: 'resources', target: 'mcp', prefix: false, body: uris }).body, null);
});

test('invalid JSON anywhere refuses the list; the id is read when it comes before the fault', () => {
  const good = message({ tools: tools(3), nextCursor: 'c' }, 4);
  const at = (needle: string): number => {
    const i = good.indexOf(needle);
    assert.ok(i > 0, needle);
    return i;
  };
  const cases: Array<readonly [string, string, string | number | null]> = [
    ['trailing garbage', `${good}x`, 4],
    ['a second value', `${good} {}`, 4],
    ['a NUL after the end', `${good}\u0000`, 4],
    ['truncated', good.slice(0, Math.floor(good.length / 2)), 4],
    ['missing comma between items', good.replace('},{"name":"write_1"', '} {"name":"write_1"'), 4],
    ['missing colon', good.replace('"name":"write_1"', '"name" "write_1"'), 4],
    ['unterminated string', '{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"echo}]}}', 4],
    ['raw newline in a name', '{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"ec\nho"}]}}', 4],
    ['raw control character deep in an item', good.slice(0, at('Text echoed')) + '\u0001' + good.slice(at('Text echoed')), 4],
    ['bad escape', good.replace('Text echoed', 'Text \\x echoed'), 4],
    ['trailing comma in the list', '{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"echo"},]}}', 4],
    ['single quotes', "{'jsonrpc':'2.0','id':4,'result':{'tools':[]}}", null],
    ['bad literal after the list', good.replace('"nextCursor":"c"', '"nextCursor":tru'), 4],
    ['leading zero in an item', good.replace('"minimum":1', '"minimum":01'), 4],
    ['fault before the id', '{"jsonrpc":"2.0",,"id":4,"result":{"tools":[]}}', null],
    ['fault in result, id after it', '{"jsonrpc":"2.0","result":{"tools":[1,]},"id":4}', null],
    ['two ids', '{"jsonrpc":"2.0","id":1,"id":2,"result":{"tools":[]}} x', null],
    ['id an object', '{"jsonrpc":"2.0","id":{"a":1},"result":{"tools":[]}} x', null],
    ['id too large', '{"jsonrpc":"2.0","id":1e400,"result":{"tools":[]}} x', null],
    ['escaped string id', String.raw`{"jsonrpc":"2.0","id":"r\u0065q","result":{"tools":[]}} x`, 'req'],
    ['not JSON at all', 'data: {"jsonrpc":"2.0","id":4}', null],
    ['empty', '', null],
    ['an error response with garbage', '{"jsonrpc":"2.0","id":4,"error":{"code":1,"message":"m"}}}', 4],
  ];
  for (const [label, body, id] of cases) {
    assert.equal(parses(body), false, `${label} is valid JSON`);
    assert.deepEqual(refusedWith(body), refusal(id), label);
  }
});

