// A legacy HTTP+SSE session lives as long as its GET stream, and each POST's answer goes through
// a LegacyAnswerSink that listens for that stream's close. The listener must go when the answer
// is done, or a long-lived session keeps one per POST it ever had. A real uWS server holds the
// stream open (a real Reply); sinks are driven the ways the relay answers: whole JSON, a 202 for
// a notification, an event stream chunk by chunk, and a broken-off answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { us_listen_socket } from 'uWebSockets.js';
import { Reply } from '../../src/main/http/reply.js';
import { closeApp, loadUws } from '../../src/main/http/uws.js';
import { LegacyAnswerSink, type LegacySession } from '../../src/main/mcp/legacy-sse.js';

const ANSWERS = 1_000;
const JSON_HEADERS = [['content-type', 'application/json']] as const;
const SSE_HEADERS = [['content-type', 'text/event-stream']] as const;

/** A uWS server whose GET opens an event stream; resolves with that stream's Reply. */
async function openStream(t: { after(fn: () => void): void }): Promise<{ reply: Reply; body: Promise<string> }> {
  const uws = loadUws(false).module;
  const app = uws.App();
  let opened: (reply: Reply) => void = () => {};
  const stream = new Promise<Reply>((resolve) => (opened = resolve));
  app.get('/*', (res) => {
    const reply = new Reply(res);
    reply.head(200, SSE_HEADERS);
    reply.write(': open\n\n');
    opened(reply);
  });
  const socket = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (s) => (s === false ? reject(new Error('listen failed')) : resolve(s))),
  );
  t.after(() => {
    uws.us_listen_socket_close(socket);
    closeApp(app);
  });
  const res = await fetch(`http://127.0.0.1:${uws.us_socket_local_port(socket)}/sse`, { headers: { connection: 'close' } });
  const body = res.text();
  body.catch(() => {});
  return { reply: await stream, body };
}

test('answering many POSTs on one legacy session leaves no close listeners on its stream', async (t) => {
  const { reply, body } = await openStream(t);
  const session: LegacySession = { id: 's', principal: 'p', stream: reply, sealed: undefined, postsInFlight: 0 };
  const before = reply.closeListeners;
  for (let i = 0; i < ANSWERS; i++) {
    const sink = new LegacyAnswerSink(session, i);
    const answer = JSON.stringify({ jsonrpc: '2.0', id: i, result: {} });
    switch (i % 4) {
      case 0:
        sink.send(200, JSON_HEADERS, answer);
        break;
      case 1:
        new LegacyAnswerSink(session, null).send(202, [], '');
        sink.send(200, JSON_HEADERS, answer);
        break;
      case 2:
        sink.start(200, SSE_HEADERS, 'event: message\n');
        sink.write(`data: ${answer}\n\n`);
        sink.finish();
        break;
      default:
        sink.head(200, SSE_HEADERS);
        sink.destroy();
    }
    assert.equal(sink.open, false);
  }
  assert.equal(reply.closeListeners, before, `close listeners after ${ANSWERS} answers`);
  reply.finish();
  assert.equal((await body).match(/^event: message$/gm)?.length, ANSWERS, 'one event per request answered');
});

test('a sink still answering when the session stream closes is closed as aborted; one that finished is not called', async (t) => {
  const { reply, body } = await openStream(t);
  const session: LegacySession = { id: 's', principal: 'p', stream: reply, sealed: undefined, postsInFlight: 0 };
  const done = new LegacyAnswerSink(session, 1);
  const doneCalls: boolean[] = [];
  done.onClose((aborted) => doneCalls.push(aborted));
  done.send(200, JSON_HEADERS, '{"jsonrpc":"2.0","id":1,"result":{}}');
  const pending = new LegacyAnswerSink(session, 2);
  const pendingCalls: boolean[] = [];
  pending.onClose((aborted) => pendingCalls.push(aborted));
  const takenBack: boolean[] = [];
  const off = reply.onClose((aborted) => takenBack.push(aborted));
  off();
  assert.equal(reply.closeListeners, 1, 'only the pending sink listens');

  reply.finish();
  assert.deepEqual(doneCalls, [false], 'the finished sink closed once, when it finished');
  assert.deepEqual(pendingCalls, [true], 'the pending sink closed as aborted with the stream');
  assert.deepEqual(takenBack, [], 'a listener taken back is not called');
  assert.equal(pending.open, false);
  assert.match(await body, /^data: \{"jsonrpc":"2.0","id":1,"result":\{\}\}$/m);
});
