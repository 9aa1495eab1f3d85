// The enterprise-SSO lab verbatim, through the real CLI (`portcullis` in place of `step` and
// `./agentgateway`) and the real MCP Inspector CLI, on the lab's fixed ports: the echo server on
// 8000, the gateway on 9000 and, for the token-exchange step, the example IdP on 7080 (the lab's
// configs name them). This is the only test file that uses those ports (one file, so its steps
// never run beside each other), so it is the only one that may collide with a hand-run lab or demo.
import assert from 'node:assert/strict';
import { copyFile, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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
    // `node` in a lab command is this Node.
    env: { NODE: process.execPath, PORTCULLIS, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` },
    timeoutMs: 20_000,
  });
  transcripts.push(r.stdout, r.stderr);
  assert.equal(r.code, 0, `${script}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

async function startGateway(config: string, env: Readonly<Record<string, string>> = {}): Promise<SpawnedProcess> {
  await copyFile(join(ROOT, 'examples', 'lab', config), join(dir, config));
  const gw = await spawnAndWait(process.execPath, [PORTCULLIS, '-f', config], { cwd: dir, env: { ...OPS_OFF, ...env }, readyLine: /started bind/ });
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

/** A long-running lab process: `node <example> args…` in the lab directory. */
async function startExample(script: string, args: readonly string[]): Promise<SpawnedProcess> {
  const p = await spawnAndWait(process.execPath, [join(ROOT, 'dist', 'examples', script), ...args], { cwd: dir, readyLine: /listening on/ });
  processes.push(p);
  return p;
}

function record(v: unknown, what: string): Record<string, unknown> {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), `not an object: ${what}`);
  return { ...v };
}

let jwt: string;
let adminJwt: string;
let echo: SpawnedProcess;

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
  echo = await startExample('echo-server/server.js', ['--port', '8000']);
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

// README: "A token exchange": the upstream gets a token the example IdP issued for it, on
// behalf of jsmith, in place of jsmith's own.
describe('Token exchange: ag-token-exchange.yaml', () => {
  const IDP = 'http://localhost:7080';
  let idp: SpawnedProcess;
  let gw: SpawnedProcess;
  before(async () => {
    const secret = (await sh(`node -p 'require("crypto").randomBytes(16).toString("hex")'`)).stdout.trim();
    assert.match(secret, /^[0-9a-f]{32}$/);
    idp = await startExample('token-exchange/idp.js', ['--trust-jwks', 'jwks-keyset', '--client-secret', secret]);
    await stop(echo);
    echo = await startExample('echo-server/server.js', ['--whoami', '--jwks', `${IDP}/jwks`]);
    gw = await startGateway('ag-token-exchange.yaml', { IDP_CLIENT_SECRET: secret });
  });
  after(() => stop(gw));

  const exchanges = (): string[] => idp.lines().filter((l) => l.startsWith('exchanged:'));

  test('the config is valid as written', async () => {
    const r = await sh('IDP_CLIENT_SECRET=x portcullis -f ag-token-exchange.yaml --validate-only');
    assert.equal(r.stdout, 'Configuration is valid!\n');
  });

  test('jsmith: whoami shows a token the IdP issued for echo-server, on behalf of jsmith', async () => {
    const r = await inspector(['--method', 'tools/call', '--tool-name', 'whoami'], jwt);
    assert.equal(r.code, 0, r.stderr);
    const result = record(JSON.parse(r.stdout), r.stdout);
    const { claims: rawClaims, ...check } = record(result['structuredContent'], r.stdout);
    const claims = record(rawClaims, r.stdout);
    // Verified against the IdP's keys: signed by the IdP, so not jsmith's own token.
    assert.deepEqual(check, { verified: true, jwks: `${IDP}/jwks` });
    assert.deepEqual({ ...claims, iat: 0, exp: 0, jti: '' }, {
      iss: IDP, sub: 'jsmith', aud: 'echo-server', client_id: 'portcullis', act: { sub: 'portcullis' }, iat: 0, exp: 0, jti: '',
    });
    assert.equal(Number(claims['exp']) - Number(claims['iat']), 300);
    assert.match(JSON.stringify(result), /"text":"sub jsmith, issued by http:\/\/localhost:7080 for echo-server, signature verified"/);
    assert.deepEqual(exchanges(), ['exchanged: a token of jsmith (acme@example.com) for one for echo-server, to client portcullis, valid 300 s']);
  });

  test('jsmith again: the exchanged token comes from the cache, the IdP is not asked', async () => {
    const r = await inspector(['--method', 'tools/list'], jwt);
    assert.deepEqual(toolNames(r).sort(), ['add', 'echo', 'whoami']);
    assert.equal(exchanges().length, 1);
  });

  test('with the IdP stopped: a new caller gets 500 backend authentication failed, jsmith is still served', async () => {
    assert.deepEqual(await idp.stop('SIGTERM'), { code: 0, signal: null });
    const from = gw.lines().length;
    const boss = await inspector(['--method', 'tools/call', '--tool-name', 'whoami'], adminJwt);
    assert.equal(boss.code, 1, boss.stdout);
    assert.match(boss.stderr, /"error":\{"code":-32603,"message":"backend authentication failed: token exchange request failed: connection refused","data":\{"code":"GW_BACKEND_AUTH"\}\}/);
    const line = await gw.waitFor(/\bwarn\s+upstream\s+backend authentication failed/, { fromLine: from });
    assert.match(line, /route=route0 target=mcp outcome=endpoint_unreachable detail="POST http:\/\/localhost:7080\/token: connect ECONNREFUSED/);
    const again = await inspector(['--method', 'tools/call', '--tool-name', 'whoami'], jwt);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /"sub": "jsmith"/);
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
