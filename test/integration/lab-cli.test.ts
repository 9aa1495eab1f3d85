// The enterprise-SSO lab verbatim, through the real CLI (`portcullis` in place of `step` and
// `./agentgateway`) and the real MCP Inspector CLI, on the lab's fixed ports: the echo server on
// 8000 and the gateway on 9000 (the lab's configs name them). This is the only test file that uses
// those ports, so it is the only one that may collide with a hand-run lab or demo.
import assert from 'node:assert/strict';
import { copyFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot, tempDir } from '../helpers/files.js';
import { runInspector } from '../helpers/inspector.js';
import { run, spawnAndWait, type RunResult, type SpawnedProcess } from '../helpers/process.js';

const ROOT = repoRoot();
const PORTCULLIS = join(ROOT, 'bin', 'portcullis.js');
const GATEWAY_URL = 'http://localhost:9000/mcp';
/** agentgateway's ops listeners (15000/15020/15021) off, as ADMIN_ADDR='' etc. do for agentgateway. */
const OPS_OFF = { ADMIN_ADDR: '', STATS_ADDR: '', READINESS_ADDR: '' };

let dir: string;
const processes: SpawnedProcess[] = [];
/** Everything any process printed, to check that no token was ever logged. */
const transcripts: string[] = [];

/** A lab command line run by sh in the lab directory, with `portcullis` as a function. */
async function sh(script: string): Promise<RunResult> {
  const r = await run('/bin/sh', ['-c', `portcullis() { "$NODE" "$PORTCULLIS" "$@"; }\nset -e\n${script}`], {
    cwd: dir,
    env: { NODE: process.execPath, PORTCULLIS },
    timeoutMs: 20_000,
  });
  transcripts.push(r.stdout, r.stderr);
  assert.equal(r.code, 0, `${script}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

async function startGateway(config: string): Promise<SpawnedProcess> {
  await copyFile(join(ROOT, 'examples', 'lab', config), join(dir, config));
  const gw = await spawnAndWait(process.execPath, [PORTCULLIS, '-f', config], { cwd: dir, env: OPS_OFF, readyLine: /started bind/ });
  processes.push(gw);
  return gw;
}

async function stop(p: SpawnedProcess): Promise<void> {
  const status = await p.stop('SIGTERM');
  transcripts.push(p.output());
  // A graceful drain ends with exit code 0.
  assert.deepEqual(status, { code: 0, signal: null }, p.output());
}

async function inspector(args: readonly string[], token?: string): Promise<RunResult> {
  const r = await runInspector(GATEWAY_URL, args, token === undefined ? {} : { token });
  transcripts.push(r.stdout, r.stderr);
  return r;
}

function toolNames(r: RunResult): string[] {
  assert.equal(r.code, 0, `inspector failed: ${r.stderr}`);
  const v: unknown = JSON.parse(r.stdout);
  assert.ok(typeof v === 'object' && v !== null && 'tools' in v && Array.isArray(v.tools), r.stdout);
  return v.tools.map((t: unknown) => (typeof t === 'object' && t !== null && 'name' in t ? String(t.name) : '?'));
}

let jwt: string;
let adminJwt: string;

before(async () => {
  dir = await tempDir();
  // Validate enterprise issued JWT tokens: the lab's `step` commands, with `portcullis` for `step crypto`.
  await sh('portcullis keys create pub-key priv-key --no-password --insecure');
  await sh('cat pub-key | portcullis keys add jwks-keyset');
  await sh(
    'portcullis token sign --key priv-key \\\n' +
      '  --iss "acme@example.com" --aud="mcp.example.com" \\\n' +
      '  --sub "jsmith" --exp $(date -d "10 years" +"%s") > jsmith.token',
  );
  await sh(
    `echo '{ "roles": ["admin"] }' | \\\n` +
      '  portcullis token sign --key priv-key \\\n' +
      '    --iss "acme@example.com" --aud="mcp.example.com" \\\n' +
      '    --sub "pointy-haired-boss" --exp $(date -d "10 years" +"%s") > boss.token',
  );
  jwt = (await readFile(join(dir, 'jsmith.token'), 'utf8')).trim();
  adminJwt = (await readFile(join(dir, 'boss.token'), 'utf8')).trim();
  // The basic MCP server, in the lab's top panel (`uv run main.py`).
  const echo = await spawnAndWait(process.execPath, [join(ROOT, 'dist', 'examples', 'echo-server', 'server.js'), '--port', '8000'], {
    cwd: dir,
    readyLine: /listening on/,
  });
  processes.push(echo);
});

after(async () => {
  for (const p of processes.reverse()) await p.stop('SIGTERM').catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

test('the lab helpers wrote a keyset with the public key and two tokens for it', async () => {
  const keyset: unknown = JSON.parse(await readFile(join(dir, 'jwks-keyset'), 'utf8'));
  const pub: unknown = JSON.parse(await readFile(join(dir, 'pub-key'), 'utf8'));
  assert.deepEqual(keyset, { keys: [pub] });
  const claims = (token: string): Record<string, unknown> => {
    const v: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    assert.ok(typeof v === 'object' && v !== null);
    return { ...v };
  };
  assert.deepEqual({ ...claims(jwt), iat: 0, exp: 0 }, { iss: 'acme@example.com', aud: 'mcp.example.com', sub: 'jsmith', iat: 0, exp: 0 });
  assert.deepEqual(claims(adminJwt)['roles'], ['admin']);
  assert.equal(claims(adminJwt)['sub'], 'pointy-haired-boss');
});

describe('JWT Authentication: ag-jwtauth-config.yaml', () => {
  let gw: SpawnedProcess;
  before(async () => {
    gw = await startGateway('ag-jwtauth-config.yaml');
  });
  after(() => stop(gw));

  test('tools/list without a token fails, and the gateway logs the 401 with its reason', async () => {
    const from = gw.lines().length;
    const r = await inspector(['--method', 'tools/list']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /authentication failure: no bearer token found/);
    const line = await gw.waitFor(/\binfo\s+request\b.*http\.status=401/, { fromLine: from });
    for (const part of [
      'gateway=bind/9000 listener=listener0 route_rule=route0/default route=route0',
      'http.method=POST',
      'http.path=/mcp',
      'http.status=401',
      'protocol=http',
      'error="authentication failure: no bearer token found"',
    ]) {
      assert.ok(line.includes(part), `access log line lacks ${part}: ${line}`);
    }
    assert.match(line, / duration=\d+ms$/);
  });

  test('tools/list with --header "Authorization: Bearer $JWT" lists the upstream\'s tools', async () => {
    const r = await inspector(['--method', 'tools/list'], jwt);
    assert.deepEqual(toolNames(r).sort(), ['add', 'echo']);
  });
});

describe('MCP Authorization: ag-mcp-authorization.yaml', () => {
  let gw: SpawnedProcess;
  before(async () => {
    gw = await startGateway('ag-mcp-authorization.yaml');
  });
  after(() => stop(gw));

  test('jsmith: the connection is permitted, but the list of tools is empty', async () => {
    const r = await inspector(['--method', 'tools/list'], jwt);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { tools: [] });
  });

  test('jsmith: tools/call echo is refused as an unknown tool', async () => {
    const from = gw.lines().length;
    const r = await inspector(['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=hi'], jwt);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /MCP error -32602: Unknown tool: echo/);
    const line = await gw.waitFor(/mcp\.method=tools\/call/, { fromLine: from });
    assert.match(line, /jwt\.sub=jsmith .*mcp\.resource\.type=tool mcp\.resource\.name=echo/);
  });

  test('the admin token: echo is present, and only echo', async () => {
    const r = await inspector(['--method', 'tools/list'], adminJwt);
    assert.deepEqual(toolNames(r), ['echo']);
  });

  test('the admin token: echo answers', async () => {
    const r = await inspector(['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=hi'], adminJwt);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { content: [{ type: 'text', text: 'Echo: hi' }] });
  });
});

test('no output of any process (gateway logs included) contains either token', () => {
  assert.ok(transcripts.length > 0);
  const secrets = [jwt, adminJwt, jwt.split('.')[2]!, adminJwt.split('.')[2]!];
  const all = [...transcripts, ...processes.map((p) => p.output())].join('\n');
  assert.match(all, /info\s+request/, 'the gateway logs were captured');
  for (const s of secrets) assert.ok(!all.includes(s), 'a token was printed');
});

// `npm start` runs `portcullis demo`: the same lab, set up by itself. It needs the lab's ports,
// so the lab's own processes are stopped first.
test('the demo (npm start): prints working tokens and commands, then stops cleanly', async () => {
  for (const p of processes) await p.stop('SIGTERM');
  // Ops listeners off: they bind exclusively, and another gateway on this machine may hold them.
  const demo = await spawnAndWait(process.execPath, [PORTCULLIS, 'demo'], { cwd: dir, env: OPS_OFF, readyLine: /Ctrl\+C stops everything/ });
  processes.push(demo);
  const admin = /export ADMIN_JWT=(\S+)/.exec(demo.output())?.[1];
  const user = /export JWT=(\S+)/.exec(demo.output())?.[1];
  assert.ok(admin !== undefined && user !== undefined, demo.output());
  assert.match(demo.output(), /mcp-inspector --cli http:\/\/localhost:9000\/mcp --transport http --method tools\/list/);
  const [adminList, userList] = await Promise.all([
    runInspector('http://localhost:9000/mcp', ['--method', 'tools/list'], { token: admin }),
    runInspector('http://localhost:9000/mcp', ['--method', 'tools/list'], { token: user }),
  ]);
  assert.deepEqual(toolNames(adminList), ['echo']);
  assert.deepEqual(toolNames(userList), []);
  const status = await demo.stop('SIGTERM');
  assert.equal(status.code, 0);
});
