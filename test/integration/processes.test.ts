// `portcullis --processes N` through the real CLI: N forked gateways on one port (SO_REUSEPORT)
// sharing a session key, a process that dies restarted, SIGTERM draining them all, SIGHUP reloading
// each. Each step is made deterministic by killing processes: while one is down, the other must
// answer every request (so both served), with the session id the first one sealed (so they share
// the key).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { childPids } from '../../bench/processes.js';
import { startEverything, type EverythingServer } from '../helpers/everything-server.js';
import { repoRoot, tempDir } from '../helpers/files.js';
import { LAB_AUDIENCE, LAB_ISSUER, gatewayYaml } from '../helpers/gateway-harness.js';
import { inSeconds, makeIssuer } from '../helpers/keys.js';
import { initializeRequest, mcpFetch, openMcpSession, resultOf, rpc, toolText } from '../helpers/mcp-http.js';
import { freePort } from '../helpers/ports.js';
import { startGatedUpstream } from '../helpers/gated-upstream.js';
import { run, spawnAndWait, type SpawnedProcess } from '../helpers/process.js';

const PORTCULLIS = join(repoRoot(), 'bin', 'portcullis.js');
const OPS_OFF = { ADMIN_ADDR: '', STATS_ADDR: '', READINESS_ADDR: '' };

/** A process that is gone, or a zombie nobody reaped (an orphan's new parent may not reap). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Polls `condition` until it holds; fails with `what` at the deadline. */
async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves once `pattern` has matched `count` lines from `fromLine` on. */
async function waitForLines(p: SpawnedProcess, pattern: RegExp, count: number, fromLine = 0): Promise<void> {
  let from = fromLine;
  for (let i = 0; i < count; i++) {
    const line = await p.waitFor(pattern, { fromLine: from, timeoutMs: 20_000 });
    from = p.lines().indexOf(line, from) + 1;
  }
}

/** A directory with the lab's key set, a token signed by it, a streamable-HTTP upstream, and a
 * free port (with its /mcp URL) for a gateway to listen on. */
async function labSetup(): Promise<{ dir: string; token: string; upstream: EverythingServer; port: number; url: string }> {
  const dir = await tempDir();
  const issuer = await makeIssuer({ alg: 'RS256' });
  await writeFile(join(dir, 'jwks-keyset'), JSON.stringify(issuer.jwks));
  const token = await issuer.sign({ iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub: 'jsmith', exp: inSeconds(600) });
  const upstream = await startEverything('streamableHttp');
  const port = await freePort();
  return { dir, token, upstream, port, url: `http://127.0.0.1:${port}/mcp` };
}

describe('--processes 2', () => {
  let upstream: EverythingServer;
  let gateway: SpawnedProcess;
  let url: string;
  let token: string;

  before(async () => {
    const lab = await labSetup();
    ({ token, upstream, url } = lab);
    const { dir, port } = lab;
    await writeFile(join(dir, 'config.yaml'), gatewayYaml({ upstreamUrl: upstream.url, port }));
    gateway = await spawnAndWait(process.execPath, [PORTCULLIS, '-f', 'config.yaml', '--processes', '2'], { cwd: dir, env: OPS_OFF, readyLine: /started bind/ });
    await waitForLines(gateway, /started bind/, 2);
  });

  after(async () => {
    // after a failure: no orphaned gateway process may keep the port
    for (const pid of childPids(gateway.child.pid ?? 0)) process.kill(pid, 'SIGKILL');
    await gateway.stop('SIGKILL');
    await upstream.stop();
  });

  const echo = async (sessionId: string, text: string): Promise<string> => {
    const reply = await mcpFetch(url, rpc(2, 'tools/call', { name: 'echo', arguments: { message: text } }), { token, sessionId });
    assert.equal(reply.status, 200, reply.text);
    return toolText(resultOf(reply));
  };

  test('both processes answer, with sessions either of them sealed; a killed one is restarted; SIGTERM stops all', async () => {
    const primary = gateway.child.pid ?? 0;
    const [first, second, ...more] = childPids(primary);
    assert.ok(first !== undefined && second !== undefined && more.length === 0, `expected 2 gateway processes, found ${String(childPids(primary))}`);

    // Every request comes on a new connection (mcpFetch closes it), so the kernel spreads them.
    const { sessionId } = await openMcpSession(url, { token });
    assert.ok(sessionId !== undefined);
    for (let i = 0; i < 6; i++) assert.match(await echo(sessionId, `hello ${i}`), new RegExp(`hello ${i}`));

    // Only the second process is left: it answers, and takes the session the pair sealed.
    let mark = gateway.lines().length;
    process.kill(first, 'SIGKILL');
    await gateway.waitFor(/process \d exited \(SIGKILL\); restarting it/, { fromLine: mark, timeoutMs: 20_000 });
    for (let i = 0; i < 4; i++) assert.match(await echo(sessionId, `only second ${i}`), /only second/);
    await waitForLines(gateway, /started bind/, 1, mark);

    // And the other way round: the restarted first process alone.
    mark = gateway.lines().length;
    process.kill(second, 'SIGKILL');
    await gateway.waitFor(/process \d exited \(SIGKILL\); restarting it/, { fromLine: mark, timeoutMs: 20_000 });
    for (let i = 0; i < 4; i++) assert.match(await echo(sessionId, `only first ${i}`), /only first/);
    await waitForLines(gateway, /started bind/, 1, mark);

    const now = childPids(primary);
    assert.equal(now.length, 2, `after the restarts: ${String(now)}`);
    assert.ok(!now.includes(first) && !now.includes(second), 'both processes were replaced');

    // A request with no token is still refused by whichever process takes it.
    const refused = await mcpFetch(url, rpc(3, 'tools/list'), { sessionId });
    assert.equal(refused.status, 401);

    const status = await gateway.stop('SIGTERM');
    assert.deepEqual(status, { code: 0, signal: null }, gateway.output());
    for (const pid of now) assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} outlived the primary`);
  });

  test('a config that does not load: the primary says why and exits 1, forking nothing', async () => {
    const bad = stringify({ binds: [{ port: 0, bogus: true }] });
    const started = Date.now();
    const r = await run(process.execPath, [PORTCULLIS, '--processes', '2', '-c', bad], { env: OPS_OFF, timeoutMs: 10_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /binds\[0\]\.bogus: unknown key/);
    assert.doesNotMatch(r.stderr, /restarting|exited/);
    assert.equal(r.stderr.match(/bogus: unknown key/g)?.length, 1, 'reported once, by the primary');
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
  });

  test('--processes refuses what is not a count or auto, naming the flag', async () => {
    for (const bad of ['many', '0', '1.5', '257']) {
      const r = await run(process.execPath, [PORTCULLIS, '--processes', bad, '-c', stringify({ binds: [] })], { env: OPS_OFF });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--processes expects an integer from 1 to 256, or auto/);
    }
  });
});

describe('--processes 2 with config.session.key', () => {
  let upstream: EverythingServer;
  let dir: string;
  let url: string;
  let token: string;
  const started: SpawnedProcess[] = [];

  before(async () => {
    const lab = await labSetup();
    ({ dir, token, upstream, url } = lab);
    const { port } = lab;
    const session = stringify({ config: { session: { key: 'deployment-wide-key-0123456789' } } });
    await writeFile(join(dir, 'config.yaml'), `${session}${gatewayYaml({ upstreamUrl: upstream.url, port })}`);
  });

  after(async () => {
    for (const p of started) {
      for (const pid of childPids(p.child.pid ?? 0)) process.kill(pid, 'SIGKILL');
      await p.stop('SIGKILL');
    }
    await upstream.stop();
  });

  test('a session a single process sealed with the configured key is served by every process', async () => {
    // Replicas elsewhere share only the configured key: the processes must use it, not their own.
    const single = await spawnAndWait(process.execPath, [PORTCULLIS, '-f', 'config.yaml'], { cwd: dir, env: OPS_OFF, readyLine: /started bind/ });
    started.push(single);
    const { sessionId } = await openMcpSession(url, { token });
    assert.ok(sessionId !== undefined);
    assert.deepEqual(await single.stop('SIGTERM'), { code: 0, signal: null });

    const pair = await spawnAndWait(process.execPath, [PORTCULLIS, '-f', 'config.yaml', '--processes', '2'], { cwd: dir, env: OPS_OFF, readyLine: /started bind/ });
    started.push(pair);
    await waitForLines(pair, /started bind/, 2);
    // A new connection per request: the kernel spreads them over both processes.
    for (let i = 0; i < 8; i++) {
      const reply = await mcpFetch(url, rpc(2, 'tools/call', { name: 'echo', arguments: { message: `again ${i}` } }), { token, sessionId });
      assert.equal(reply.status, 200, reply.text);
      assert.match(toolText(resultOf(reply)), new RegExp(`again ${i}`));
    }
    assert.deepEqual(await pair.stop('SIGTERM'), { code: 0, signal: null }, pair.output());
  });
});

describe('--processes 2 whose supervisor is killed', () => {
  let upstream: EverythingServer;
  let gateway: SpawnedProcess | undefined;

  after(async () => {
    if (gateway !== undefined) {
      for (const pid of childPids(gateway.child.pid ?? 0)) process.kill(pid, 'SIGKILL');
      await gateway.stop('SIGKILL');
    }
    await upstream.stop();
  });

  test('SIGKILL on the supervisor: its gateway processes drain and exit instead of serving on as orphans', async () => {
    const dir = await tempDir();
    const issuer = await makeIssuer({ alg: 'RS256' });
    await writeFile(join(dir, 'jwks-keyset'), JSON.stringify(issuer.jwks));
    upstream = await startEverything('streamableHttp');
    const port = await freePort();
    await writeFile(join(dir, 'config.yaml'), gatewayYaml({ upstreamUrl: upstream.url, port }));
    gateway = await spawnAndWait(process.execPath, [PORTCULLIS, '-f', 'config.yaml', '--processes', '2'], { cwd: dir, env: OPS_OFF, readyLine: /started bind/ });
    await waitForLines(gateway, /started bind/, 2);
    const pids = childPids(gateway.child.pid ?? 0);
    assert.equal(pids.length, 2, `gateway processes: ${String(pids)}`);

    process.kill(gateway.child.pid ?? 0, 'SIGKILL');
    await until(() => pids.every(gone), `gateway processes ${String(pids)} still running after their supervisor was killed`);
    // Their output still reaches the pipe the supervisor shared with them.
    await until(() => (gateway?.output().match(/supervisor gone, draining/g)?.length ?? 0) === 2, 'both processes logged why they stop');
  });
});

describe('--processes 2 signalled twice', () => {
  test('a process draining a request finishes it when a second SIGTERM comes (the supervisor\'s and the group\'s)', async () => {
    const upstream = await startGatedUpstream();
    const dir = await tempDir();
    const port = await freePort();
    await writeFile(join(dir, 'config.yaml'), gatewayYaml({ upstreamUrl: upstream.url, port, mode: null }));
    const gateway = await spawnAndWait(process.execPath, [PORTCULLIS, '-f', 'config.yaml', '--processes', '2'], { cwd: dir, env: OPS_OFF, readyLine: /started bind/ });
    const primary = gateway.child.pid ?? 0;
    try {
      await waitForLines(gateway, /started bind/, 2);
      const held = upstream.holdNextList();
      const reply = mcpFetch(`http://127.0.0.1:${port}/mcp`, rpc(1, 'tools/list'));
      await held.arrived;

      // systemd's default stop signals every process of the unit: the supervisor forwards its
      // SIGTERM, and each gateway process gets one of its own, here deterministically second.
      const mark = gateway.lines().length;
      process.kill(primary, 'SIGTERM');
      await waitForLines(gateway, /received SIGTERM, draining/, 2, mark);
      for (const pid of childPids(primary)) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // the idle one may be gone already
        }
      }
      held.release();
      const answered = await reply;
      assert.equal(answered.status, 200, answered.text);
      assert.deepEqual(await gateway.exited, { code: 0, signal: null }, gateway.output());
    } finally {
      for (const pid of childPids(primary)) process.kill(pid, 'SIGKILL');
      await gateway.stop('SIGKILL');
      await upstream.close();
    }
  });
});

describe('--processes 2 hung up', () => {
  test('SIGHUP on the supervisor: every process reloads the file, and all keep serving', async () => {
    const upstream = await startGatedUpstream();
    const dir = await tempDir();
    const port = await freePort();
    // config.yaml → data/real.yaml: writing real.yaml is no event in the watched directory, so
    // only the signal can apply it.
    await mkdir(join(dir, 'data'));
    const real = join(dir, 'data', 'real.yaml');
    const allowing = (rule: string): string => stringify({
      binds: [{ port, listeners: [{ routes: [{ policies: { authorization: { rules: [rule] } }, backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: upstream.url } }] } }] }] }] }],
    });
    await writeFile(real, allowing('false'));
    await symlink(real, join(dir, 'config.yaml'));
    const gateway = await spawnAndWait(process.execPath, [PORTCULLIS, '-f', 'config.yaml', '--processes', '2'], { cwd: dir, env: OPS_OFF, readyLine: /started bind/ });
    const primary = gateway.child.pid ?? 0;
    const url = `http://127.0.0.1:${port}/mcp`;
    try {
      await waitForLines(gateway, /Watching config file/, 2);
      const statuses = async (): Promise<number[]> => {
        const out: number[] = [];
        // a new connection each: the kernel spreads them over both processes
        for (let i = 0; i < 8; i++) out.push((await mcpFetch(url, initializeRequest())).status);
        return out;
      };
      assert.deepEqual(await statuses(), new Array(8).fill(403));

      await writeFile(real, allowing('true'));
      const mark = gateway.lines().length;
      process.kill(primary, 'SIGHUP');
      await gateway.waitFor(/received SIGHUP, passing it on to 2 processes/, { fromLine: mark });
      await waitForLines(gateway, /Config reloaded successfully/, 2, mark);
      assert.deepEqual(await statuses(), new Array(8).fill(200));
      assert.equal(childPids(primary).length, 2);
      assert.equal(gateway.child.exitCode, null);
      assert.doesNotMatch(gateway.output(), /exited|restarting/);
      assert.deepEqual(await gateway.stop('SIGTERM'), { code: 0, signal: null }, gateway.output());
    } finally {
      for (const pid of childPids(primary)) process.kill(pid, 'SIGKILL');
      await gateway.stop('SIGKILL');
      await upstream.close();
    }
  });
});
