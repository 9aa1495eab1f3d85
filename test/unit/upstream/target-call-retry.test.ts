// Which failures a retry resends: a request the upstream never received (a connect failure) is
// resent whatever its method; one it may have received only when it is safe to run twice. The
// transport here fails on purpose with the errors undici reports, then answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from '../../../src/protocol/jsonrpc.js';
import type { AnswerHandler } from '../../../src/main/upstream/answer.js';
import { answerWith } from '../../../src/main/upstream/answer.js';
import { CallerSlots } from '../../../src/main/upstream/caller-slots.js';
import { UpstreamTarget } from '../../../src/main/upstream/target.js';
import { NO_TARGET_POLICIES } from '../../../src/main/upstream/target-policies.js';
import type { Transport, TransportRequest } from '../../../src/main/upstream/transport.js';
import { anonymousCaller } from '../../helpers/caller-context.js';

/** Fails the first `failures` requests with `error`, then answers 200. */
class FailingTransport implements Transport {
  readonly key = 'test';
  readonly sent: TransportRequest[] = [];
  #failures: number;
  readonly #error: () => Error;
  constructor(failures: number, error: () => Error) {
    this.#failures = failures;
    this.#error = error;
  }
  send(req: TransportRequest, answer: AnswerHandler): void {
    this.sent.push(req);
    if (this.#failures-- > 0) {
      answer.onConnect(() => {});
      answer.onError(this.#error());
    } else answerWith(answer, 200, ['content-type', 'application/json'], '{}');
  }
}

function connectRefused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
}
function reset(): Error {
  return Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
}

const ctx = anonymousCaller;

function outcome(transport: Transport, method: string): Promise<number | string> {
  const target = new UpstreamTarget('t', transport, new CallerSlots({ calls: 10, streams: 10 }), { ...NO_TARGET_POLICIES, retry: { attempts: 3, backoffMs: 0, codes: [503] } });
  const text = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: {} });
  return new Promise((resolve) => {
    target.send(ctx, { method: 'POST', sessionId: undefined, body: Buffer.from(text), message: parseMessage(text) }, {
      onConnect: () => {},
      onHeaders: (status) => {
        resolve(status);
        return true;
      },
      onData: () => true,
      onComplete: () => {},
      onError: (err) => resolve(err.message),
    });
  });
}

test('a connect failure is retried for any request, tools/call included', async () => {
  const transport = new FailingTransport(2, connectRefused);
  assert.equal(await outcome(transport, 'tools/call'), 200);
  assert.equal(transport.sent.length, 3);
  assert.deepEqual(transport.sent.map((r) => r.headers['x-retry-attempt']), [undefined, '1', '2']);
});

test('a failure after the request may have arrived is not retried for tools/call, and is for tools/list only on a timeout', async () => {
  const call = new FailingTransport(1, reset);
  assert.equal(await outcome(call, 'tools/call'), 'other side closed');
  assert.equal(call.sent.length, 1);
  const list = new FailingTransport(1, reset);
  assert.equal(await outcome(list, 'tools/list'), 'other side closed');
  assert.equal(list.sent.length, 1);
});

test('connect failures past the attempts: the last failure is reported', async () => {
  const transport = new FailingTransport(5, connectRefused);
  assert.equal(await outcome(transport, 'ping'), 'connect ECONNREFUSED 127.0.0.1:1');
  assert.equal(transport.sent.length, 3);
});
