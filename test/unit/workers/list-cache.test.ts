// Remembered filtered lists (src/workers/list-cache.ts): with the cache, filtering answers
// exactly what it answers without it — for the message it remembered, for the same list under
// another id, and for every message that only looks like a remembered one (the remembered text
// in the wrong member, a duplicate `result`, invalid text around it) — and callers with different
// claims never see each other's lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CelContext, FilterResult, ListKind, RuleInit } from '../../../src/protocol/worker-contract.js';
import { compileRuleSet, type CompiledRuleSet } from '../../../src/workers/cel/compile.js';
import { filterList, rememberFilterList, type FilterRequest } from '../../../src/workers/filter-list.js';
import { FilteredListCache } from '../../../src/workers/list-cache.js';
import { rememberedAnswer } from '../../../src/workers/remembered-bytes.js';
import { ALLOW_RULE, tools } from '../../../bench/fixtures.js';

const ctxOf = (sub: string): CelContext => ({ jwt: { sub, roles: ['admin'] }, mcp: null, request: null, source: null });
const bench = ctxOf('bench');

function rules(list: readonly RuleInit[]): CompiledRuleSet {
  return compileRuleSet({ id: 1, rules: list });
}
const ALLOW = rules([{ kind: 'allow', expr: ALLOW_RULE }]);

const req = (body: string, extra: Partial<FilterRequest> = {}): FilterRequest => ({ ctx: bench, list: 'tools', target: 'mcp', prefix: false, body, ...extra });

const RESULT = JSON.stringify({ tools: tools(20), nextCursor: 'c2' });
const msg = (id: unknown, result = RESULT): string => `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${result}}`;

/** The cached answer, checked against the uncached one. */
function same(cache: FilteredListCache, r: FilterRequest, ruleSet: CompiledRuleSet = ALLOW, label = r.body.slice(0, 80)): FilterResult {
  const expected = filterList(ruleSet, r);
  const actual = filterList(ruleSet, r, cache);
  assert.deepEqual(actual, expected, label);
  return actual;
}

test('a list seen before is answered from the cache, byte for byte what filtering gives, whatever the id', () => {
  const cache = new FilteredListCache(1 << 20);
  const first = same(cache, req(msg(1)));
  assert.equal(cache.misses, 1);
  assert.deepEqual([first.kept, first.removed], [10, 10]);
  for (const id of [2, 'abc', null, 1e21, -0.5]) same(cache, req(msg(id)));
  // reordered members and whitespace around the remembered text
  same(cache, req(`{ "result" : ${RESULT} , "id" : 9, "jsonrpc":"2.0" }\n`));
  same(cache, req(String.raw`{"jsonrpc":"2.0","id":3,"r\u0065sult":${RESULT}}`));
  assert.equal(cache.hits, 7);
  // with prefixed names, a separate entry
  same(cache, req(msg(4), { prefix: true, target: 'a"b' }));
  same(cache, req(msg(5), { prefix: true, target: 'a"b' }));
  assert.equal(cache.hits, 8);
});

test('callers with other claims, other lists or another rule set get their own answers', () => {
  const cache = new FilteredListCache(1 << 20);
  const echoOnly = rules([{ kind: 'allow', expr: 'mcp.tool.name == "echo" && jwt.sub == "alice"' }]);
  const alice = same(cache, req(msg(1), { ctx: ctxOf('alice') }), echoOnly);
  const bob = same(cache, req(msg(1), { ctx: ctxOf('bob') }), echoOnly);
  assert.deepEqual([alice.kept, bob.kept], [1, 0]);
  assert.deepEqual(same(cache, req(msg(1), { ctx: ctxOf('bob') }), echoOnly), bob);
  assert.deepEqual(same(cache, req(msg(1), { ctx: ctxOf('alice') }), echoOnly), alice);
  assert.equal(cache.hits, 2);
  // the same text as a prompts list: nothing filtered there (no prompts member)
  same(cache, req(msg(3), { list: 'prompts' as ListKind }), echoOnly);
  // another rule set with the same id number in another engine generation is another cache;
  // within one cache, the rule-set id is part of the key
  const other = compileRuleSet({ id: 2, rules: [] });
  assert.equal(same(cache, req(msg(4), { ctx: ctxOf('alice') }), other).body, null);
});

test('a claims object is keyed by what it holds now: frozen ones once, others on every request', () => {
  const cache = new FilteredListCache(1 << 20);
  const echoOnly = rules([{ kind: 'allow', expr: 'mcp.tool.name == "echo" && jwt.sub == "alice"' }]);
  // not frozen: changed between two requests, the second is not answered from the first's key
  const mutable: Record<string, unknown> = { sub: 'alice', roles: ['admin'] };
  const ctx: CelContext = { jwt: mutable, mcp: null, request: null, source: null };
  assert.equal(same(cache, req(msg(1), { ctx }), echoOnly).kept, 1);
  mutable['sub'] = 'bob';
  assert.equal(same(cache, req(msg(2), { ctx }), echoOnly).kept, 0);
  // frozen (as the verified-token cache hands them out): the same object, and an equal one, hit
  const frozen = Object.freeze({ sub: 'alice', roles: Object.freeze(['admin']) });
  const hitsBefore = cache.hits;
  assert.equal(same(cache, req(msg(3), { ctx: { ...ctx, jwt: frozen } }), echoOnly).kept, 1);
  assert.equal(same(cache, req(msg(4), { ctx: { ...ctx, jwt: frozen } }), echoOnly).kept, 1);
  assert.equal(same(cache, req(msg(5), { ctx: { ...ctx, jwt: { sub: 'alice', roles: ['admin'] } } }), echoOnly).kept, 1);
  assert.equal(cache.hits - hitsBefore, 3);
});

test('text that only looks like a remembered list is filtered (or refused) in full', () => {
  const cache = new FilteredListCache(1 << 20);
  same(cache, req(msg(1)));
  const other = JSON.stringify({ tools: [{ name: 'write_1' }, { name: 'echo' }] });
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['remembered text in another member first', `{"jsonrpc":"2.0","id":1,"meta":${RESULT},"result":${other}}`],
    ['remembered text in error data', `{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m","data":${RESULT}}}`],
    ['a duplicate result after it', `{"jsonrpc":"2.0","id":1,"result":${RESULT},"result":${other}}`],
    ['a duplicate result before it', `{"jsonrpc":"2.0","id":1,"result":${other},"result":${RESULT}}`],
    ['trailing garbage', `${msg(1)}x`],
    ['a second value', `${msg(1)} {}`],
    ['invalid text before it', `{"jsonrpc":"2.0",,"id":1,"result":${RESULT}}`],
    ['inside a batch', `[${msg(1)}]`],
    ['nested one level down', `{"jsonrpc":"2.0","id":1,"x":{"result":${RESULT}}}`],
    ['as the value of the id', `{"jsonrpc":"2.0","id":${RESULT},"result":${other}}`],
    ['cut short', msg(1).slice(0, -1)],
    ['remembered text with more items after', msg(1, RESULT.replace(/}$/, ',"more":[1]}'))],
    // tokens that would join a one-character stand-in for the remembered value into a valid one
    ['a fraction after it', msg(1, `${RESULT}.5`)],
    ['an exponent after it', msg(1, `${RESULT}e1`)],
    ['a signed exponent after it', msg(1, `${RESULT}E+2`)],
    ['a minus before it', `{"jsonrpc":"2.0","id":1,"result":-${RESULT}}`],
    ['a literal after it', msg(1, `${RESULT}true`)],
  ];
  for (const [label, body] of cases) same(cache, req(body), ALLOW, label);
});

test('contexts JSON.stringify would write alike (-0 and 0, Infinity and null) are never confused', () => {
  const cache = new FilteredListCache(1 << 20);
  const byX = rules([{ kind: 'allow', expr: '1.0 / double(jwt.x) > 0.0 || jwt.x == null' }]);
  const x = (v: unknown): CelContext => ({ jwt: { sub: 'bench', x: v }, mcp: null, request: null, source: null });
  for (const [first, second] of [[0, -0], [-0, 0], [null, Infinity], [Infinity, null], [1, Number.NaN]] as const) {
    const a = same(cache, req(msg(1), { ctx: x(first) }), byX, `x=${String(first)}`);
    const b = same(cache, req(msg(1), { ctx: x(second) }), byX, `x=${String(second)} after x=${String(first)}`);
    assert.equal(typeof a.kept, typeof b.kept);
  }
});

test('-0 and Infinity nested in claims are told apart too (in an object, in a list)', () => {
  const cache = new FilteredListCache(1 << 20);
  const nested = rules([{ kind: 'allow', expr: '1.0 / double(jwt.o.y) > 0.0 && 1.0 / double(jwt.l[0]) > 0.0' }]);
  const ctx = (y: number, l0: number): CelContext => ({ jwt: { sub: 'bench', o: { y }, l: [l0] }, mcp: null, request: null, source: null });
  for (const [first, second] of [[ctx(0, 1), ctx(-0, 1)], [ctx(1, 0), ctx(1, -0)], [ctx(1, Infinity), ctx(1, 1)]] as const) {
    same(cache, req(msg(1), { ctx: first }), nested, 'first');
    same(cache, req(msg(1), { ctx: second }), nested, 'second, after a context JSON writes alike or close');
  }
});

test('rules over the request or the source: a context differing only there is never answered from another', () => {
  const cache = new FilteredListCache(1 << 20);
  const byRequest = rules([{ kind: 'allow', expr: 'request.headers["x-team"] == "a" || source.address == "10.0.0.1"' }]);
  const ctx = (team: string, address: string): CelContext => ({
    jwt: { sub: 'bench' },
    mcp: null,
    request: { method: 'POST', path: '/mcp', host: 'h', headers: { 'x-team': team } },
    source: { address, port: 0 },
  });
  const seen = [ctx('a', '10.0.0.2'), ctx('b', '10.0.0.2'), ctx('b', '10.0.0.1'), ctx('a', '10.0.0.2')].map((c) => same(cache, req(msg(1), { ctx: c }), byRequest).kept);
  assert.deepEqual(seen, [20, 0, 20, 20]);
  assert.equal(cache.misses, 3);
});

test('a worker answer that does not fit the message is not remembered', () => {
  const cache = new FilteredListCache(1 << 20);
  const body = msg(1);
  const good = filterList(ALLOW, req(body));
  assert.ok(good.resultSpan !== undefined && good.body !== null);
  const [start, end] = good.resultSpan;
  const bad: FilterResult[] = [
    { ...good, resultSpan: [start + 1, end] }, // not an object
    { ...good, resultSpan: [start, end - 1] },
    { ...good, resultSpan: [0, body.length + 5] }, // outside the text
    { ...good, body: good.body.replace('"jsonrpc"', '"jsonrpx"') }, // text outside result changed
    { ...good, body: good.body.slice(0, -1) },
  ];
  for (const result of bad) rememberFilterList(ALLOW, req(body), cache, result);
  assert.equal(cache.chars, 0);
  rememberFilterList(ALLOW, req(body), cache, good);
  assert.ok(cache.chars > 0);
  same(cache, req(msg(2)));
  assert.equal(cache.hits, 1);
});

test('rule errors are counted on a cached answer as on a filtered one', () => {
  const cache = new FilteredListCache(1 << 20);
  const erring = rules([{ kind: 'allow', expr: 'jwt.missing.deeper == 1 || mcp.tool.name == "echo"' }]);
  const first = same(cache, req(msg(1)), erring);
  assert.ok(first.ruleErrors > 0);
  const again = same(cache, req(msg(2)), erring);
  assert.deepEqual([again.kept, again.removed, again.ruleErrors], [first.kept, first.removed, first.ruleErrors]);
  assert.equal(cache.hits, 1);
});

test('a message in bytes: answered as the text path sends it, beyond ASCII too; bytes that are no UTF-8 go the text path', () => {
  const cache = new FilteredListCache(1 << 20);
  const result = JSON.stringify({ tools: [...tools(4), { name: 'écho 🦀', description: '\u2028 \uFEFF' }] });
  same(cache, req(msg(1, result)));
  const texts = [
    msg('ü🦀', result),
    `{"note":"\\"result\\":{} é \uFEFF","jsonrpc":"2.0","id":2,"result":\n\t ${result}}`,
    `{"result" : ${result},"id":"é"}`,
  ];
  for (const text of texts) {
    const answer = rememberedAnswer(ALLOW, req(text), Buffer.from(text), cache);
    const expected = filterList(ALLOW, req(text));
    assert.ok(answer !== null && expected.body !== null, text);
    assert.ok(Buffer.from(answer.body ?? '').equals(Buffer.from(expected.body)), text);
  }
  // many answers, spliced across several of the buffers they are carved from, each still itself
  const big = JSON.stringify({ tools: [...tools(20), { name: 'écho 🦀' }] });
  same(cache, req(msg(1, big)));
  const many = Array.from({ length: 120 }, (_, i) => {
    const text = msg(`id-${i}`, big);
    const answer = rememberedAnswer(ALLOW, req(text), Buffer.from(text), cache);
    assert.ok(answer !== null && answer.body !== null);
    return [answer.body, filterList(ALLOW, req(text)).body ?? ''] as const;
  });
  for (const [answer, text] of many) assert.ok(Buffer.from(answer).equals(Buffer.from(text)), text);
  const valid = Buffer.from(msg(3, result));
  const id = valid.indexOf('3');
  for (const stray of [[0xff], [0xc3], [0xed, 0xa0, 0x80]]) {
    const broken = Buffer.concat([valid.subarray(0, id), Buffer.from(stray), valid.subarray(id)]);
    assert.equal(rememberedAnswer(ALLOW, req(broken.toString('utf8')), broken, cache), null, String(stray));
  }
  // a list left whole: no bytes to send but the message's own
  const none = new FilteredListCache(1 << 20);
  const everyone = rules([]);
  same(none, req(msg(1)), everyone);
  const whole = rememberedAnswer(everyone, req(msg(2)), Buffer.from(msg(2)), none);
  assert.ok(whole !== null && whole.body === null);
  assert.equal(rememberedAnswer(everyone, req(''), Buffer.alloc(0), none), null);
});

test('the cache stays within its size; lists too large for it are not kept', () => {
  const cache = new FilteredListCache(200_000);
  for (let i = 0; i < 100; i++) same(cache, req(msg(i), { ctx: ctxOf(`user${i}`) }));
  assert.ok(cache.chars <= 200_000, String(cache.chars));
  assert.ok(cache.chars > 0);
  const big = new FilteredListCache(50_000);
  same(big, req(msg(1, JSON.stringify({ tools: tools(200) }))));
  assert.equal(big.chars, 0);
  // a key holds a few different lists (pages), the newest first
  const pages = new FilteredListCache(1 << 20);
  for (let p = 0; p < 6; p++) same(pages, req(msg(p, JSON.stringify({ tools: tools(3 + p), nextCursor: `p${p}` }))));
  same(pages, req(msg(9, JSON.stringify({ tools: tools(8), nextCursor: 'p5' }))));
  assert.equal(pages.hits, 1);
});

test('differential fuzz: cached and uncached filtering agree on adversarial messages around remembered lists', () => {
  // Seeded, so a failure reproduces: remembered result texts (some nested in others) and
  // messages built around them: other members holding them, duplicate or escaped `result`
  // names, tokens glued to them, random character edits; small caches, so entries get evicted.
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return Math.floor((seed / 0x80000000) * n);
  };
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)] as T;
  const ruleSets = [
    ALLOW,
    compileRuleSet({ id: 2, rules: [] }),
    compileRuleSet({ id: 3, rules: [{ kind: 'allow', expr: 'jwt.missing.x == 1 || mcp.tool.name.startsWith(jwt.sub)' }, { kind: 'deny', expr: 'mcp.tool.target == "evil"' }] }),
    compileRuleSet({ id: 4, rules: [{ kind: 'allow', expr: 'mcp.prompt.name == "p" || mcp.resource.name == "u" || mcp.tool.name == "a\\"b"' }] }),
  ];
  const ctxs: CelContext[] = [ctxOf('a'), ctxOf('write_'), { jwt: null, mcp: null, request: null, source: null }, ctxOf('bench')];
  const lists: ListKind[] = ['tools', 'tools', 'prompts', 'resources'];
  const names = ['echo', 'write_1', 'read_2', 'a\\"b', 'e\\u0063ho', 'p', 'u', 'x\\/y'];
  const frag = ['{', '}', '[', ']', ',', ':', '"result":', '"r\\u0065sult":', '"x":', ' ', '\n', '\uFEFF', '.5', 'e1', 'E-2', '0', '-', 'true', 'null', '"', '\\', 'x', '\u0000', '{"tools":[]}'];
  const frags = (): string => Array.from({ length: rnd(4) }, () => pick(frag)).join('');
  const item = (list: ListKind): string => {
    const key = list === 'resources' ? 'uri' : 'name';
    const r = rnd(10);
    if (r === 0) return '1';
    if (r === 1) return '{"description":"no name"}';
    const ws = pick(['', ' ', '\n  ']);
    return `{${ws}"${key}"${ws}:${ws}"${pick(names)}"${rnd(3) === 0 ? ',"inputSchema":{"type":"object"}' : ''}${ws}}`;
  };
  const resultText = (list: ListKind, inner?: string): string =>
    `{"${list}":[${Array.from({ length: rnd(5) }, () => item(list)).join(',')}]${rnd(3) === 0 ? `,"nextCursor":"c${rnd(4)}"` : ''}${inner === undefined ? '' : `,"x":${inner}`}}`;
  const message = (id: string, r: string, pre = '', post = ''): string => `{"jsonrpc":"2.0","id":${id},${pre}"result":${r}${post}}`;
  const mutate = (r: string, others: readonly string[]): string => {
    const id = pick(['1', '"s"', 'null', '2.5e3']);
    switch (rnd(12)) {
      case 0: return message(id, r + pick(['.5', 'e1', 'E+2', '0', ' .5', 'true']));
      case 1: return message(id, r, frags(), frags());
      case 2: return `${frags()}${message(id, r)}${frags()}`;
      case 3: return `{"jsonrpc":"2.0","id":1,"meta":${r},"result":${pick(others)}}`;
      case 4: return `{"jsonrpc":"2.0","id":1,"result":${r},${pick(['"result"', '"r\\u0065sult"'])}:${pick([r, ...others, '1'])}}`;
      case 5: return `{"jsonrpc":"2.0","id":1,${pick(['"result"', '"r\\u0065sult"'])}:${pick([...others, '1'])},"result":${r}}`;
      case 6: return `{"x":{"result":${r}},"result":${pick([r, ...others])}}`;
      case 7: {
        let s = message(id, r);
        for (let k = 0; k < 1 + rnd(3); k++) {
          const p = rnd(s.length + 1);
          s = rnd(2) === 0 ? s.slice(0, p) + pick(frag) + s.slice(p) : s.slice(0, p) + s.slice(p + 1 + rnd(3));
        }
        return s;
      }
      case 8: return `${pick([' ', '\r\n', ''])}{ "result" :${pick(['', '\n'])}${r}${pick(['', '\t'])}}${pick(['', '\n'])}`;
      default: return message(id, r, `"a":${pick([...others, r])},`, `,"b":${pick([...others, r])}`);
    }
  };
  let compared = 0;
  let hits = 0;
  let bytesHits = 0;
  // Every spliced answer, checked again at the end: answers carved from one buffer never overlap.
  const kept: Array<readonly [Uint8Array, string]> = [];
  for (let round = 0; round < 400; round++) {
    const cache = new FilteredListCache(rnd(4) === 0 ? 2000 : 1 << 20);
    const list = pick(lists);
    const texts: string[] = [];
    for (let i = 0; i < 1 + rnd(4); i++) texts.push(resultText(list, rnd(4) === 0 && texts.length > 0 ? pick(texts) : undefined));
    const base = { ctx: pick(ctxs), list, target: pick(['mcp', 'evil', 'a\u0000b', '']), prefix: rnd(2) === 0 };
    const ruleSet = pick(ruleSets);
    for (let step = 0; step < 25; step++) {
      const r = pick(texts);
      const body = step < 3 || rnd(4) === 0 ? message(String(rnd(100)), r) : mutate(r, [...texts.filter((t) => t !== r), '{"tools":[{"name":"write_1"}]}']);
      const request: FilterRequest = rnd(5) === 0 ? { ...base, ctx: pick(ctxs), body } : { ...base, body };
      const label = `round ${round} step ${step}: ${body}`;
      // The same message as bytes first: what it answers is what the text path sends.
      const bytes = Buffer.from(body);
      const inBytes = rememberedAnswer(ruleSet, request, bytes, cache);
      const before = cache.hits;
      const expected = filterList(ruleSet, request);
      assert.deepEqual(filterList(ruleSet, request, cache), expected, label);
      compared++;
      if (cache.hits > before) hits++;
      // Valid UTF-8 (every fuzzed text): the bytes answer exactly when the text is remembered.
      assert.equal(inBytes !== null, cache.hits > before, label);
      if (inBytes !== null) {
        bytesHits++;
        assert.ok(Buffer.from(inBytes.body ?? bytes).equals(Buffer.from(expected.body ?? body)), label);
        if (inBytes.body !== null) kept.push([inBytes.body, expected.body ?? body]);
        assert.deepEqual([inBytes.kept, inBytes.removed, inBytes.ruleErrors], [expected.kept, expected.removed, expected.ruleErrors], label);
      }
    }
  }
  assert.equal(compared, 10_000);
  assert.ok(hits > 1000, `only ${hits} cache hits: the fuzz does not exercise the cache`);
  assert.equal(bytesHits, hits);
  assert.ok(kept.length > 500, String(kept.length));
  for (const [answer, text] of kept) assert.ok(Buffer.from(answer).equals(Buffer.from(text)), text);
});
