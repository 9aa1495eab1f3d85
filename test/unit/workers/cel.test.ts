import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPolicyEngine } from '../../../src/workers/engine.js';
import type { CelContext, Claims, RuleInit } from '../../../src/protocol/worker-contract.js';
import { compileRule } from '../../../src/workers/cel/compile.js';

const LAB_RULE = 'mcp.tool.name == "echo" && "admin" in jwt.roles';

function ctx(jwt: Claims | null, tool = 'echo', method = 'tools/call'): CelContext {
  return {
    jwt,
    mcp: { method, tool: { name: tool, target: 'mcp' } },
    request: { method: 'POST', path: '/mcp', host: 'localhost', headers: { 'x-team': 'blue' } },
    source: { address: '127.0.0.1', port: 50000 },
  };
}

/** An engine holding one rule set (id 1). */
function decider(rules: readonly RuleInit[]): (c: CelContext) => { allow: boolean; ruleErrors: number } {
  const engine = createPolicyEngine({ generation: 1, providerSets: [], ruleSets: [{ id: 1, rules }], listCacheChars: 0 });
  return (c) => engine.decide(1, c);
}

const allow = (expr: string): RuleInit => ({ kind: 'allow', expr });
const deny = (expr: string): RuleInit => ({ kind: 'deny', expr });
const require = (expr: string): RuleInit => ({ kind: 'require', expr });

test('the lab rule with roles absent, a list with admin, a string, and jwt null', () => {
  const d = decider([allow(LAB_RULE)]);
  assert.deepEqual(d(ctx({ sub: 'a' })), { allow: false, ruleErrors: 1 });
  assert.deepEqual(d(ctx({ sub: 'a', roles: ['admin'] })), { allow: true, ruleErrors: 0 });
  assert.deepEqual(d(ctx({ sub: 'a', roles: ['dev'] })), { allow: false, ruleErrors: 0 });
  assert.deepEqual(d(ctx({ sub: 'a', roles: 'admin' })), { allow: false, ruleErrors: 1 });
  assert.deepEqual(d(ctx(null)), { allow: false, ruleErrors: 1 });
  // CEL's && absorbs the error when the other side is false, in either order
  assert.deepEqual(d(ctx({ sub: 'a' }, 'other')), { allow: false, ruleErrors: 0 });
  assert.deepEqual(decider([allow('"admin" in jwt.roles && mcp.tool.name == "echo"')])(ctx({}, 'other')), {
    allow: false,
    ruleErrors: 0,
  });
});

test('plain JS claims: doubles against int literals, strings, nested maps, headers, source', () => {
  const claims = { exp: 1_800_000_000, level: 3, sub: 'jane', nested: { team: 'x' }, roles: ['dev', 'admin'] };
  for (const expr of [
    'jwt.exp > 1700000000',
    'jwt.level == 3',
    'jwt.sub.startsWith("j")',
    'jwt.nested.team == "x"',
    'size(jwt.roles) > 0',
    'jwt.roles.exists(r, r == "dev")',
    'mcp.method in ["tools/call", "prompts/get"]',
    'mcp.tool.target == "mcp"',
    'request.headers["x-team"] == "blue" && request.path == "/mcp"',
    'source.address == "127.0.0.1" && source.port == 50000',
    'has(jwt.roles) && !has(jwt.missing)',
  ]) {
    assert.deepEqual(decider([allow(expr)])(ctx(claims)), { allow: true, ruleErrors: 0 }, expr);
  }
});

test('a claim or a header named `constructor`, at any depth, leaves its map readable to the rules', () => {
  const claims = { sub: 'jane', constructor: 'c', org: { constructor: 'o', team: 'red' }, roles: ['dev', { constructor: 1 }] };
  const withHeader: CelContext = { ...ctx(claims), request: { method: 'POST', path: '/mcp', host: 'h', headers: { constructor: 'x', 'x-team': 'blue' } } };
  for (const expr of [
    'jwt.sub == "jane" && jwt.constructor == "c"',
    'jwt.org.team == "red" && has(jwt.org.constructor) && size(jwt.org) == 2',
    '"dev" in jwt.roles && jwt.roles[1].constructor == 1',
    'request.headers["x-team"] == "blue" && request.headers["constructor"] == "x"',
    'jwt.exists(k, k == "constructor")',
  ]) {
    assert.deepEqual(decider([allow(expr)])(withHeader), { allow: true, ruleErrors: 0 }, expr);
  }
  // the claims object the rules saw is the caller's, untouched
  assert.equal(claims.org.constructor, 'o');
});

test('the string functions Portcullis adds behave as agentgateway\'s (charAt, replace, stripPrefix, stripSuffix)', () => {
  const holds = [
    '"abc".charAt(1) == "b"',
    '"a🎉c".charAt(1) == "🎉" && "a🎉c".charAt(2) == "c"',
    '"hello hello".replace("he", "we") == "wello wello"',
    '"hello hello".replace("he", "we", -1) == "wello wello"',
    '"hello hello".replace("he", "we", 1) == "wello hello"',
    '"hello hello".replace("he", "we", 0) == "hello hello"',
    '"héllo".replace("", "_") == "_h_é_l_l_o_"',
    '"a🎉".replace("", "_", 2) == "_a_🎉"',
    '"hello".replace("h", "") == "ello"',
    '"hello".stripPrefix("he") == "llo" && "hello".stripPrefix("hi") == "hello" && "hello".stripPrefix("") == "hello"',
    '"hello".stripSuffix("lo") == "hel" && "hello".stripSuffix("hi") == "hello" && "hello".stripSuffix("") == "hello"',
    'jwt.sub.stripPrefix("ja") == "ne"',
  ];
  for (const expr of holds) assert.deepEqual(decider([allow(expr)])(ctx({ sub: 'jane' })), { allow: true, ruleErrors: 0 }, expr);
  // past the end (agentgateway: an error, not ""), or before the start
  for (const expr of ['"abc".charAt(3) == ""', '"abc".charAt(-1) == ""']) {
    assert.deepEqual(decider([allow(expr)])(ctx(null)), { allow: false, ruleErrors: 1 }, expr);
  }
});

test('no rules allows everything', () => {
  assert.deepEqual(decider([])(ctx(null)), { allow: true, ruleErrors: 0 });
});

test('deny, require and allow combine as DESIGN.md says', () => {
  const admin = ctx({ roles: ['admin'] });
  // any deny true → deny, even with an allow true
  assert.equal(decider([allow('true'), deny('mcp.tool.name == "echo"')])(admin).allow, false);
  // deny rules only: deny-list semantics
  assert.equal(decider([deny('mcp.tool.name == "rm"')])(admin).allow, true);
  assert.equal(decider([deny('mcp.tool.name == "echo"')])(admin).allow, false);
  // any require false → deny, even with an allow true
  assert.equal(decider([allow('true'), require('"root" in jwt.roles')])(admin).allow, false);
  assert.equal(decider([require('"admin" in jwt.roles')])(admin).allow, true);
  assert.equal(decider([require('"admin" in jwt.roles'), allow('false')])(admin).allow, false);
  // allow rules: any-match
  assert.equal(decider([allow('false'), allow('true')])(admin).allow, true);
  assert.equal(decider([allow('false'), allow('false')])(admin).allow, false);
});

test('errors and non-bool results are false and counted', () => {
  const none = ctx(null);
  assert.deepEqual(decider([allow('jwt.roles'), allow('jwt.a'), allow('"yes"')])(none), { allow: false, ruleErrors: 3 });
  // an erroring deny does not deny; an erroring require does
  assert.deepEqual(decider([deny('"admin" in jwt.roles')])(none), { allow: true, ruleErrors: 1 });
  assert.deepEqual(decider([require('"admin" in jwt.roles')])(none), { allow: false, ruleErrors: 1 });
  // 1 is not true
  assert.deepEqual(decider([allow('1')])(none), { allow: false, ruleErrors: 1 });
});

test('evaluation restores Error.stackTraceLimit', () => {
  const saved = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 17;
    decider([allow(LAB_RULE)])(ctx(null));
    assert.equal(Error.stackTraceLimit, 17);
  } finally {
    Error.stackTraceLimit = saved;
  }
});

test('a rule that does not compile fails engine creation; compileRule exposes the check', () => {
  assert.throws(() => decider([allow('mcp.tool.name ==')]), /rule set 1, rule 0: CEL does not compile/);
  assert.throws(() => compileRule('1 +'));
  assert.equal(typeof compileRule('true'), 'function');
});

test('an unknown rule set id is a programmer error', () => {
  const engine = createPolicyEngine({ generation: 1, providerSets: [], ruleSets: [], listCacheChars: 0 });
  assert.throws(() => engine.decide(3, ctx(null)), RangeError);
});
