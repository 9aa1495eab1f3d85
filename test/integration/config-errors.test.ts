// Config errors through the real CLI (`bin/portcullis.js`): the lab's configs validate; an unknown
// key, a bad enum value, a CEL syntax error, a rule calling a function Portcullis does not provide
// and a missing JWKS file give errors that name the path, exit 1 under --validate-only, and stop
// `-f` from starting at all.
import assert from 'node:assert/strict';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { repoRoot, tempDir } from '../helpers/files.js';
import { makeIssuer } from '../helpers/keys.js';
import { run, type RunResult } from '../helpers/process.js';

const ROUTE = 'binds[0].listeners[0].routes[0]';
const LAB_CONFIGS = ['ag-jwtauth-config.yaml', 'ag-mcp-authorization.yaml'] as const;
/** Ops listeners off, so nothing here could collide with another test's ports. */
const OPS_OFF = { ADMIN_ADDR: '', STATS_ADDR: '', READINESS_ADDR: '' };

function portcullis(cwd: string, args: readonly string[]): Promise<RunResult> {
  return run(process.execPath, [join(repoRoot(), 'bin', 'portcullis.js'), ...args], { cwd, env: OPS_OFF, timeoutMs: 20_000 });
}

interface BadConfig {
  readonly name: string;
  /** edits the lab's second config (port changed to 0) */
  readonly edit: (text: string) => string;
  /** every pattern must appear in stderr */
  readonly errors: readonly RegExp[];
}

function replaceOnce(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `fixture edit: "${from}" not in the config`);
  return text.replace(from, to);
}

const BAD: readonly BadConfig[] = [
  {
    name: 'unknown key under jwtAuth',
    edit: (t) => replaceOnce(t, '          mode: strict\n', '          mode: strict\n          foo: 1\n'),
    errors: [/^binds\[0\]\.listeners\[0\]\.routes\[0\]\.policies\.jwtAuth\.foo: unknown key$/m],
  },
  {
    name: 'bad jwtAuth mode',
    edit: (t) => replaceOnce(t, 'mode: strict', 'mode: lax'),
    errors: [/^binds\[0\]\.listeners\[0\]\.routes\[0\]\.policies\.jwtAuth\.mode: expected one of strict, optional, permissive$/m],
  },
  {
    name: 'CEL syntax error in a rule',
    edit: (t) => replaceOnce(t, `- 'mcp.tool.name == "echo" && "admin" in jwt.roles'`, `- 'mcp.tool.name == "echo" && '`),
    errors: [/^binds\[0\]\.listeners\[0\]\.routes\[0\]\.policies\.mcpAuthorization\.rules\[0\]: invalid CEL expression/m],
  },
  {
    name: 'a rule calling a function Portcullis does not provide',
    edit: (t) => replaceOnce(t, `- 'mcp.tool.name == "echo" && "admin" in jwt.roles'`, `- 'mcp.tool.name == "echo" && default(jwt.roles, []).exists(r, r == "admin")'`),
    errors: [/^binds\[0\]\.listeners\[0\]\.routes\[0\]\.policies\.mcpAuthorization\.rules\[0\]: rule uses function "default", which Portcullis does not provide$/m],
  },
  {
    name: 'missing JWKS file',
    edit: (t) => replaceOnce(t, 'file: ./jwks-keyset', 'file: ./no-such-keyset'),
    errors: [/policies\.jwtAuth\.jwks.*failed to load JWKS/, /no-such-keyset/],
  },
];

let dir: string;

before(async () => {
  dir = await tempDir();
  // The lab's files, byte for byte, and a keyset in the working directory they name.
  for (const name of LAB_CONFIGS) await copyFile(join(repoRoot(), 'examples', 'lab', name), join(dir, name));
  const issuer = await makeIssuer();
  await writeFile(join(dir, 'jwks-keyset'), JSON.stringify(issuer.jwks));
  const base = (await readFile(join(dir, 'ag-mcp-authorization.yaml'), 'utf8')).replace('port: 9000', 'port: 0');
  for (const bad of BAD) await writeFile(join(dir, fileOf(bad)), bad.edit(base));
});

after(() => rm(dir, { recursive: true, force: true }));

function fileOf(bad: BadConfig): string {
  return `bad-${bad.name.replace(/\W+/g, '-')}.yaml`;
}

describe('--validate-only', () => {
  for (const name of LAB_CONFIGS) {
    test(`the lab's ${name} is valid`, async () => {
      const r = await portcullis(dir, ['--validate-only', '-f', name]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'Configuration is valid!\n');
    });
  }

  for (const bad of BAD) {
    test(`${bad.name}: exit 1 and an error naming the path`, async () => {
      const r = await portcullis(dir, ['--validate-only', '-f', fileOf(bad)]);
      assert.equal(r.code, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /Configuration is valid/);
      for (const pattern of bad.errors) assert.match(r.stderr, pattern);
    });
  }

  test('the same checks apply to inline config text (-c)', async () => {
    const bad = BAD[0]!;
    const text = await readFile(join(dir, fileOf(bad)), 'utf8');
    const r = await portcullis(dir, ['--validate-only', '-c', text]);
    assert.equal(r.code, 1);
    for (const pattern of bad.errors) assert.match(r.stderr, pattern);
  });

  test('the lab configs must say where the keyset is missing when run from another directory', async (t) => {
    const elsewhere = await tempDir(t);
    const r = await portcullis(elsewhere, ['--validate-only', '-f', join(dir, 'ag-jwtauth-config.yaml')]);
    // agentgateway resolves jwks.file against the working directory, not the config's folder.
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${ROUTE.replace(/[[\].]/g, '\\$&')}\\.policies\\.jwtAuth\\.jwks.*failed to load JWKS`));
  });
});

describe('CEL rules may call only what Portcullis provides', () => {
  /** One route with these mcpAuthorization rules (and an HTTP authorization rule). */
  const rulesYaml = (rules: readonly unknown[], httpRule = 'true'): string =>
    stringify({
      binds: [{
        port: 0,
        listeners: [{ routes: [{
          policies: { authorization: { rules: [httpRule] }, mcpAuthorization: { rules } },
          backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: 'http://127.0.0.1:9/mcp' } }] } }],
        }] }],
      }],
    });

  // agentgateway's CEL functions (reference/agentgateway-policies.md §7) that Portcullis does not
  // provide, and what the error calls each.
  const UNKNOWN: ReadonlyArray<readonly [expr: string, named: string]> = [
    ['json(request.headers["x-claims"]).team == "a"', 'function "json"'],
    ['jsonField(request.headers["x-claims"], "team") == "a"', 'function "jsonField"'],
    ['toJson(jwt) != ""', 'function "toJson"'],
    ['unvalidatedJwtPayload(request.headers["authorization"]).sub == "a"', 'function "unvalidatedJwtPayload"'],
    ['jwt.with(c, c.sub == "a")', 'method "with"'],
    ['variables().jwt.sub == "a"', 'function "variables"'],
    ['jwt.mapValues(v, v) == {}', 'method "mapValues"'],
    ['jwt.filterKeys(k, k == "a") == {}', 'method "filterKeys"'],
    ['jwt.merge({}) == {}', 'method "merge"'],
    ['flatten(jwt) == {}', 'function "flatten"'],
    ['base64.decode(request.headers["x-b"]) == b"a"', 'function "base64.decode"'],
    ['url.encode(mcp.tool.name) == "a"', 'function "url.encode"'],
    ['sha256.encode(jwt.sub) == "a"', 'function "sha256.encode"'],
    ['default(jwt.roles, []).exists(r, r == "admin")', 'function "default"'],
    ['coalesce(jwt.team, "none") == "a"', 'function "coalesce"'],
    ['mcp.tool.name.regexReplace("_.*", "") == "a"', 'method "regexReplace"'],
    ['uuid() != ""', 'function "uuid"'],
    ['random() < 0.5', 'function "random"'],
    ['math.greatest(jwt.level, 1) > 2', 'function "math.greatest"'],
    ['isIP(source.address)', 'function "isIP"'],
    ['ip(source.address).isLoopback()', 'function "ip"'],
    ['cidr("10.0.0.0/8").containsIP(source.address)', 'function "cidr"'],
    ['request.headers["cookie"].cookie("team") == "a"', 'method "cookie"'],
    ['request.headers["authorization"].redacted() != ""', 'method "redacted"'],
  ];

  test('a rule calling any of agentgateway\'s functions Portcullis lacks: exit 1 naming each rule and its function', async (t) => {
    const cwd = await tempDir(t);
    // every rule kind; `allow` written both ways
    const rules = UNKNOWN.map(([expr], i) => (i % 4 === 0 ? expr : i % 4 === 1 ? { allow: expr } : i % 4 === 2 ? { deny: expr } : { require: expr }));
    const r = await portcullis(cwd, ['--validate-only', '-c', rulesYaml(rules, 'fail("no")')]);
    assert.equal(r.code, 1, r.stdout);
    const expected = [
      `${ROUTE}.policies.authorization.rules[0]: rule uses function "fail", which Portcullis does not provide`,
      ...UNKNOWN.map(([, named], i) => {
        const at = `${ROUTE}.policies.mcpAuthorization.rules[${i}]${['', '.allow', '.deny', '.require'][i % 4] ?? ''}`;
        return `${at}: rule uses ${named}, which Portcullis does not provide`;
      }),
    ];
    assert.deepEqual(r.stderr.trim().split('\n'), expected);
  });

  test('variables Portcullis does not provide, and rules that can never be true, are errors too', async (t) => {
    const cwd = await tempDir(t);
    const r = await portcullis(cwd, ['--validate-only', '-c', rulesYaml(['llm.model == "x"', { deny: 'jwt.roles.size()' }, '"admin"', 'size(jwt.roles, 1) == 1'])]);
    assert.equal(r.code, 1, r.stdout);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `${ROUTE}.policies.mcpAuthorization.rules[0]: rule reads variable "llm", which Portcullis does not provide (rules read jwt, mcp, request, source)`,
      `${ROUTE}.policies.mcpAuthorization.rules[1].deny: the rule's value is of type int, never a bool: the rule can never be true`,
      `${ROUTE}.policies.mcpAuthorization.rules[2]: the rule's value is of type string, never a bool: the rule can never be true`,
      `${ROUTE}.policies.mcpAuthorization.rules[3]: invalid CEL expression: found no matching overload for 'size(dyn, int)'`,
    ]);
  });

  test('macros, string and list methods, and the string functions Portcullis adds load', async (t) => {
    const cwd = await tempDir(t);
    const rules = [
      'mcp.tool.name == "echo" && "admin" in jwt.roles',
      'has(jwt.roles) && jwt.roles.exists(r, r == "admin") && jwt.roles.all(r, r.size() > 0)',
      'jwt.roles.exists_one(r, r.startsWith("ad")) || jwt.roles.map(r, r.upperAscii()).filter(r, r.endsWith("N")).size() > 0',
      { deny: 'mcp.tool.name.matches("^secret_") || mcp.tool.name.contains("admin")' },
      { require: 'jwt.sub.lowerAscii().trim() != "" && jwt.sub.split("@").size() == 2 && jwt.roles.join(",") != ""' },
      'mcp.tool.name.indexOf("_") > 0 && mcp.tool.name.substring(0, 3) == "get" && size(jwt.sub) > 0',
      'cel.bind(team, request.headers["x-team"], team == "blue")',
      'int(jwt.level) >= 2 && string(jwt.level) != "" && type(jwt) == map && dyn(jwt.exp) > 0',
      'mcp.tool.name.charAt(0) == "g" && mcp.tool.name.replace("_", "-") == "get-env" && mcp.tool.name.replace("e", "E", 1) != ""',
      'request.path.stripPrefix("/mcp") == "" && mcp.tool.target.stripSuffix("-v2") == "mcp"',
    ];
    const r = await portcullis(cwd, ['--validate-only', '-c', rulesYaml(rules, 'request.path.startsWith("/")')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Configuration is valid!\n');
  });
});

test('running a bad config (-f without --validate-only) exits 1 with the same errors and never listens', async () => {
  const results = await Promise.all(BAD.map((bad) => portcullis(dir, ['-f', fileOf(bad)])));
  results.forEach((r, i) => {
    const bad = BAD[i]!;
    assert.equal(r.code, 1, `${bad.name}: stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    for (const pattern of bad.errors) assert.match(r.stderr, pattern, bad.name);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /started bind|ready:/, bad.name);
  });
});

test('--workers refuses what is not a count (an empty value is no 0), naming the flag: exit 2', async (t) => {
  const dir = await tempDir(t);
  for (const args of [['--workers='], ['--workers', ''], ['--workers', ' '], ['--workers=0x2'], ['--workers', 'two']]) {
    const r = await portcullis(dir, ['-c', '{}', '--validate-only', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /--workers expects an integer from 0 to 256/);
  }
  const ok = await portcullis(dir, ['-c', '{}', '--validate-only', '--workers=0']);
  assert.equal(ok.code, 0, ok.stderr);
});
