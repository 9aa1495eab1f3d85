// Config errors through the real CLI (`bin/portcullis.js`): the lab's configs validate; an unknown
// key, a bad enum value, a CEL syntax error and a missing JWKS file give errors that name the
// path, exit 1 under --validate-only, and stop `-f` from starting at all.
import assert from 'node:assert/strict';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
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
