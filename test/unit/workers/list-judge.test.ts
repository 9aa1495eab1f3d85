import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CelContext, Claims, RuleInit } from '../../../src/protocol/worker-contract.js';
import { compileRule, compileRuleSet } from '../../../src/workers/cel/compile.js';
import { evaluateRules, withoutStackTraces, type ErrorTally } from '../../../src/workers/cel/decide.js';
import { readsVariable } from '../../../src/workers/cel/item-invariance.js';
import { ListJudge } from '../../../src/workers/cel/list-judge.js';

test('a rule reads mcp when the identifier occurs anywhere, a bound macro variable included', () => {
  const reads = (expr: string): boolean => readsVariable(compileRule(expr).ast, 'mcp');
  assert.equal(reads('mcp.tool.name == "echo"'), true);
  assert.equal(reads('has(mcp.tool)'), true);
  assert.equal(reads('mcp["tool"].name == "x"'), true);
  assert.equal(reads('jwt.roles.exists(r, r == mcp.tool.name)'), true);
  assert.equal(reads('jwt.roles.exists(mcp, mcp == "x")'), true); // shadowing: a shortcut lost, never a wrong one
  assert.equal(reads('[jwt.sub, {"k": mcp}].size() > 0'), true);
  assert.equal(reads('"admin" in jwt.roles'), false);
  assert.equal(reads('jwt.mcp == "x" && request.headers["mcp"] == "y"'), false); // a field or key named mcp is not the variable
});

/** Deterministic PRNG (mulberry32), so a failure names a reproducible seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EXPRESSIONS = [
  // never read mcp
  'jwt.sub == "a"',
  '"admin" in jwt.roles',
  'jwt.level > 2',
  'jwt.roles',
  'jwt.missing.x',
  'true',
  'false',
  '1',
  'request.path == "/mcp"',
  'jwt.roles.exists(r, r == "dev")',
  'has(jwt.roles) && jwt.sub != "b"',
  // read mcp
  'mcp.tool.name == "echo"',
  'mcp.tool.name.startsWith("read_")',
  'mcp.tool.name',
  'mcp.nope.x == 1',
  'mcp.tool.name in jwt.roles',
  'jwt.roles.exists(mcp, mcp == "admin")',
  'mcp.tool.name == "echo" ? true : 1',
  // chains of both
  'mcp.tool.name == "echo" && "admin" in jwt.roles',
  '"admin" in jwt.roles || mcp.tool.name.startsWith("r")',
  'jwt.level && mcp.tool.name == "x"',
  'jwt.missing.x && mcp.tool.name == "echo"',
  'jwt.missing.x || mcp.tool.name == "echo"',
  'false && mcp.tool.name',
  'true || mcp.tool.name',
  'jwt.sub == "a" && mcp.tool.name',
  'mcp.tool.name == "echo" && (jwt.sub == "a" && jwt.level > 1)',
  '(jwt.sub == "a" || mcp.tool.name == "write_b") || jwt.level == 3',
  '!("admin" in jwt.roles) && mcp.tool.name != "x"',
  'jwt.roles.exists(r, r == mcp.tool.name) || jwt.sub == "b"',
  'mcp.nope.x == 1 && jwt.sub == "a"',
  'jwt.level || mcp.tool.name == "echo"',
  // a false (true) part that decides the chain only if no other part is a non-bool
  'jwt.level && jwt.sub == "zz" && mcp.tool.name == "echo"',
  'jwt.level || jwt.sub == "a" || mcp.tool.name == "echo"',
  // chains that fail cel-js's type check, whatever the values
  'jwt.sub == "a" || size(jwt.missing) || mcp.tool.name == "x"',
  'jwt.sub == "zz" && size(jwt.roles) && mcp.tool.name == "echo"',
  'request.path == "/mcp" || (mcp.tool.name == "a" ? true : 1)',
  // a part that fails on a token without the claim, beside one that decides
  'request.path == "/mcp" || jwt.sub == "q" || mcp.tool.name == "x"',
  'request.path == "/x" && jwt.roles.exists(r, r == "dev") && mcp.tool.name.startsWith("r")',
];

const CLAIMS: ReadonlyArray<Claims | null> = [
  { sub: 'a', roles: ['admin', 'dev'], level: 3 },
  { sub: 'b', roles: 'admin', level: 'x' },
  { sub: 'a' },
  null,
  { sub: 'c', roles: ['dev', 'echo'], level: 1 },
  { sub: 'a', roles: [], level: true },
];

const NAMES = ['echo', 'read_a', 'write_b', 'x', 'dev', 'admin'];
const KINDS: ReadonlyArray<RuleInit['kind']> = ['allow', 'deny', 'require'];

function itemCtx(jwt: Claims | null, name: string): CelContext {
  return { jwt, mcp: { method: 'tools/call', tool: { name, target: 'mcp' } }, request: { method: 'POST', path: '/mcp', host: 'h', headers: {} }, source: null };
}

test('judging a list gives each item the decision and the error count that evaluating it alone gives', () => {
  const random = rng(20261126);
  const pick = <T>(xs: readonly T[]): T => {
    const x = xs[Math.floor(random() * xs.length)];
    if (x === undefined) throw new RangeError('empty choice');
    return x;
  };
  let shortcuts = 0;
  for (let round = 0; round < 3000; round++) {
    const rules: RuleInit[] = Array.from({ length: 1 + Math.floor(random() * 6) }, () => ({ kind: pick(KINDS), expr: pick(EXPRESSIONS) }));
    const set = compileRuleSet({ id: 1, rules });
    if ([...set.allow, ...set.deny, ...set.require].some((r) => !r.readsMcp)) shortcuts++;
    const jwt = pick(CLAIMS);
    const items = Array.from({ length: 1 + Math.floor(random() * 8) }, () => pick(NAMES));
    withoutStackTraces(() => {
      const listTally: ErrorTally = { count: 0 };
      const judge = new ListJudge(set, listTally);
      const aloneTally: ErrorTally = { count: 0 };
      for (const name of items) {
        const want = evaluateRules(set, itemCtx(jwt, name), aloneTally);
        const got = judge.allows(itemCtx(jwt, name));
        assert.equal(got, want, `round ${round}: ${JSON.stringify(rules)} jwt ${JSON.stringify(jwt)} item ${name}`);
        assert.equal(listTally.count, aloneTally.count, `round ${round}: error count, ${JSON.stringify(rules)} jwt ${JSON.stringify(jwt)} item ${name}`);
      }
    });
  }
  assert.ok(shortcuts > 1500, `rule sets with something to evaluate once per list: ${shortcuts}`);
});
