// Targets that are not Streamable HTTP, served to clients as Streamable HTTP: server-everything
// over stdio (one process per gateway session, opened by initialize, ended by DELETE) and over
// the legacy HTTP+SSE transport. Processes the gateway starts are watched with an exit probe
// (a socket each child holds open), so the test waits on their start and end, never on time.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { LoggingMessageNotificationSchema, type LoggingMessageNotification, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { stringify } from 'yaml';
import { everythingEntry, startEverything } from '../helpers/everything-server.js';
import { startExitProbe, type ExitProbe, type ProbedProcess } from '../helpers/exit-probe.js';
import type { CleanupHost } from '../helpers/files.js';
import { LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway, type LabKeys, type TestGateway } from '../helpers/gateway-harness.js';
import { runInspector } from '../helpers/inspector.js';
import { openEventStream } from '../helpers/event-stream.js';
import { PROTOCOL_VERSION, errorOf, initializeRequest, inspectorJson, isRecord, mcpFetch, toolText, openMcpSession, rpc } from '../helpers/mcp-http.js';
import { connectSamplingClient } from '../helpers/sampling-client.js';
import { connectClient, type ConnectedClient } from '../helpers/sdk-client.js';

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

/** One route, jwtAuth strict, one target given as written in the config. */
function targetYaml(target: Readonly<Record<string, unknown>>): string {
  return stringify({
    binds: [
      {
        port: 0,
        listeners: [
          {
            routes: [
              {
                policies: { jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' } } },
                backends: [{ mcp: { targets: [target] } }],
              },
            ],
          },
        ],
      },
    ],
  });
}



/** `--import` hook for a stdio server that ignores SIGTERM and keeps running. */
const LINGER_ON_SIGTERM = `data:text/javascript,${encodeURIComponent("process.on('SIGTERM',()=>{});setInterval(()=>{},1<<30);")}`;


let keys: LabKeys;
let probe: ExitProbe;
let stdioGw: TestGateway;

before(async () => {
  keys = await labKeys(suite);
  probe = await startExitProbe();
  suite.after(() => probe.close());
  // Runs after the gateways have closed (cleanups run in reverse): every process they started must end.
  suite.after(async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${probe.alive()} stdio process(es) still running after the gateways closed`)), 10_000);
    });
    try {
      await Promise.race([Promise.all(probe.processes.map((p) => p.exited)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  });
  stdioGw = await startTestGateway(suite, {
    cwd: keys.dir,
    configText: targetYaml({
      name: 'everything',
      stdio: { cmd: process.execPath, args: [...probe.nodeArgs, everythingEntry(), 'stdio'], env: probe.env },
    }),
  });
});

describe('server-everything over stdio as a target', { timeout: 60_000 }, () => {
  test('inspector CLI: tools/list and tools/call get-sum, one process per session', async () => {
    const before = probe.processes.length;
    const listed = await runInspector(stdioGw.url, ['--method', 'tools/list'], { token: keys.jsmith });
    assert.equal(listed.code, 0, listed.stderr);
    const tools = inspectorJson(listed.stdout)['tools'];
    assert.ok(Array.isArray(tools));
    const names = tools.map((t: unknown) => (isRecord(t) ? t['name'] : null));
    for (const name of ['echo', 'get-sum', 'trigger-long-running-operation']) assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);

    const summed = await runInspector(stdioGw.url, ['--method', 'tools/call', '--tool-name', 'get-sum', '--tool-arg', 'a=2', 'b=40'], { token: keys.jsmith });
    assert.equal(summed.code, 0, summed.stderr);
    assert.equal(toolText(inspectorJson(summed.stdout)), 'The sum of 2 and 40 is 42.');
    // Each inspector run initialized its own session: its own process.
    await probe.started(before + 1);
    assert.equal(probe.processes.length, before + 2);
  });

  test('SDK client: log and progress notifications arrive on the GET stream; DELETE ends the process', async () => {
    const index = probe.processes.length;
    const c: ConnectedClient = await connectClient(stdioGw.url, keys.jsmith, { headers: { connection: 'close' } });
    let terminated = false;
    try {
      const proc = await probe.started(index);
      const sid = c.transport.sessionId;
      assert.ok(sid !== undefined && sid.startsWith('p1.'), String(sid));

      // toggle-simulated-logging sends one log message at once (not an answer: it goes to the GET stream).
      const logged = new Promise<LoggingMessageNotification['params']>((resolve) => {
        c.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => resolve(n.params));
      });
      const toggled = await c.client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
      assert.match(toolText(toggled), /^Started simulated, random-leveled logging/);
      const log = await logged;
      assert.match(String(log.data), /-level message|level-message/);

      const progress: Progress[] = [];
      const done = await c.client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } }, undefined, {
        onprogress: (p) => progress.push(p),
      });
      assert.equal(toolText(done), 'Long running operation completed. Duration: 0.3 seconds, Steps: 3.');
      // Progress travels on the GET stream, the answer on the POST's reply: two connections, so
      // the last step (written just before the answer) may reach the client after it. The steps
      // before it are a step's time apart and must all be there, in order.
      assert.deepEqual(progress.map((p) => p.progress).slice(0, 2), [1, 2]);
      assert.ok(progress.length <= 3 && progress.every((p, i) => p.progress === i + 1 && p.total === 3), JSON.stringify(progress));

      await c.transport.terminateSession();
      terminated = true;
      // DELETE ended this session's process (the probe's socket closed with it). The old id's 404
      // is checked with a process that lingers after SIGTERM, where it does not race the exit.
      await proc.exited;
    } finally {
      if (terminated) await c.client.close();
      else await c.close();
    }
  });

  test('sampling over stdio: the server\'s request comes on the GET stream, the client\'s answer is POSTed back (202)', async () => {
    const c = await connectSamplingClient(stdioGw.url, keys.jsmith, 'sampled over stdio');
    try {
      const result = await c.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'via a process', maxTokens: 7 } });
      assert.equal(c.asked.length, 1);
      assert.match(JSON.stringify(c.asked[0]!.messages), /via a process/);
      assert.match(toolText(result), /sampled over stdio/);
      const answers = c.responsePosts();
      assert.equal(answers.length, 1);
      assert.equal(answers[0]!.status, 202);
    } finally {
      await c.close();
    }
  });

  test('when the process dies, the session\'s GET stream ends, and the session id is 404', async () => {
    const index = probe.processes.length;
    const { sessionId } = await openMcpSession(stdioGw.url, { token: keys.jsmith });
    const proc = await probe.started(index);
    const stream = await openEventStream(stdioGw.url, {
      method: 'GET',
      headers: { accept: 'text/event-stream', authorization: `Bearer ${keys.jsmith}`, 'mcp-session-id': sessionId!, 'mcp-protocol-version': PROTOCOL_VERSION },
    });
    try {
      assert.equal(stream.status, 200);
      process.kill(proc.pid, 'SIGKILL');
      await proc.exited;
      // A client listening for server messages must learn the session is over, not wait forever.
      await assert.rejects(stream.until(() => false, 5000), /stream ended/);
      const late = await mcpFetch(stdioGw.url, rpc(9, 'tools/list'), { token: keys.jsmith, sessionId: sessionId! });
      assert.equal(late.status, 404, late.text);
      assert.equal(errorOf(late).code, -32001);
    } finally {
      stream.close();
    }
  });

  test('a request without a session that is not initialize: 400 with a JSON-RPC error saying a session is needed', async () => {
    const before = probe.processes.length;
    const reply = await mcpFetch(stdioGw.url, rpc(5, 'tools/list'), { token: keys.jsmith });
    assert.equal(reply.status, 400, reply.text);
    assert.match(reply.contentType, /^application\/json/);
    const message: unknown = JSON.parse(reply.text);
    assert.ok(isRecord(message) && message['id'] === 5, reply.text);
    assert.match(String(errorOf(reply).message), /needs a session: send initialize first/);
    assert.equal(probe.processes.length, before, 'no process started for it');
  });
});

describe('a stdio server that does not stop on SIGTERM', { timeout: 60_000 }, () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(suite, {
      cwd: keys.dir,
      configText: targetYaml({
        name: 'lingering',
        stdio: { cmd: process.execPath, args: [...probe.nodeArgs, '--import', LINGER_ON_SIGTERM, everythingEntry(), 'stdio'], env: probe.env },
      }),
    });
  });

  /** Opens a session (its process), killed with SIGKILL when the test ends. */
  async function lingeringSession(t: TestContext): Promise<{ sessionId: string; proc: ProbedProcess }> {
    const index = probe.processes.length;
    const { sessionId } = await openMcpSession(gw.url, { token: keys.jsmith });
    const proc = await probe.started(index);
    t.after(async () => {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await proc.exited;
    });
    assert.ok(sessionId !== undefined);
    return { sessionId, proc };
  }

  test('right after DELETE the old session id is 404 (Session not found), while the process is still shutting down', async (t) => {
    const { sessionId } = await lingeringSession(t);
    const deleted = await mcpFetch(gw.url, null, { method: 'DELETE', token: keys.jsmith, sessionId });
    assert.ok(deleted.status >= 200 && deleted.status < 300, `DELETE: ${deleted.status} ${deleted.text}`);
    const late = await mcpFetch(gw.url, rpc(9, 'tools/list'), { token: keys.jsmith, sessionId });
    assert.equal(late.status, 404, `tools/list after DELETE: ${late.status} ${late.text}`);
    assert.equal(errorOf(late).code, -32001);
  });

  test('gateway.close() leaves no process of its own running', async (t) => {
    const { proc } = await lingeringSession(t);
    await gw.gateway.close({ drainMs: 0 });
    // kill(pid, 0) only asks whether the process exists.
    assert.throws(() => process.kill(proc.pid, 0), /ESRCH/, `process ${proc.pid} still runs after gateway.close() resolved`);
  });
});

describe('a stdio command that does not exist', { timeout: 60_000 }, () => {
  test('initialize gets a 5xx JSON-RPC error naming the target; the gateway keeps answering', async () => {
    const gw = await startTestGateway(suite, {
      cwd: keys.dir,
      configText: targetYaml({ name: 'ghost', stdio: { cmd: '/nonexistent/portcullis-no-such-mcp-server', args: [] } }),
    });
    const first = await mcpFetch(gw.url, initializeRequest(1), { token: keys.jsmith });
    assert.ok(first.status >= 500 && first.status < 600, `${first.status} ${first.text}`);
    assert.equal(first.headers.get('mcp-session-id'), null, 'no session for a process that never ran');
    const error = errorOf(first);
    assert.equal(error.code, -32603);
    assert.match(String(error.message), /ghost/);
    assert.match(String(error.message), /ENOENT|could not start/);
    const second = await mcpFetch(gw.url, initializeRequest(2), { token: keys.jsmith });
    assert.ok(second.status >= 500 && second.status < 600, `${second.status} ${second.text}`);
    assert.match(String(errorOf(second).message), /ghost/);
    // And the rest of the gateway is unaffected: the stdio gateway in this process still serves.
    const alive = await mcpFetch(stdioGw.url, rpc(6, 'ping'), { token: keys.jsmith });
    assert.equal(alive.status, 400, alive.text);
  });
});

describe('server-everything over the legacy HTTP+SSE transport as a target', { timeout: 60_000 }, () => {
  test('inspector CLI: tools/call echo message=legacy', async () => {
    const everything = await startEverything('sse');
    suite.after(() => everything.stop());
    const gw = await startTestGateway(suite, { cwd: keys.dir, configText: targetYaml({ name: 'legacy', sse: { host: everything.url } }) });
    const echoed = await runInspector(gw.url, ['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=legacy'], { token: keys.jsmith });
    assert.equal(echoed.code, 0, echoed.stderr);
    assert.equal(toolText(inspectorJson(echoed.stdout)), 'Echo: legacy');
  });
});
