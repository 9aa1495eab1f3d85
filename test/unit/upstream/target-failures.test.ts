// What a target does when its credential source or its transport fails where none should: a
// call fails closed with an answer, and ending an upstream session (fired and forgotten,
// `void target.endSession(...)`) settles without rejecting, since a rejection no one handles
// would end the gateway's process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnswerHandler } from '../../../src/main/upstream/answer.js';
import { answerWith } from '../../../src/main/upstream/answer.js';
import { CallerSlots } from '../../../src/main/upstream/caller-slots.js';
import { UpstreamTarget } from '../../../src/main/upstream/target.js';
import { parseMessage } from '../../../src/protocol/jsonrpc.js';
import { NO_TARGET_POLICIES } from '../../../src/main/upstream/target-policies.js';
import type { Transport, TransportRequest } from '../../../src/main/upstream/transport.js';
import type { BackendCredentialSource, Credential } from '../../../src/main/upstream-auth/credential.js';
import { anonymousCaller } from '../../helpers/caller-context.js';

class RecordingTransport implements Transport {
  readonly key = 'test';
  readonly sent: TransportRequest[] = [];
  send(req: TransportRequest, answer: AnswerHandler): void {
    this.sent.push(req);
    answerWith(answer, 202, [], '');
  }
}

class ThrowingTransport implements Transport {
  readonly key = 'test';
  send(): void {
    throw new Error('transport broke');
  }
}

const ctx = anonymousCaller;

function targetWith(transport: Transport, credential: (() => Credential | Promise<Credential>) | null): UpstreamTarget {
  const source: BackendCredentialSource | null = credential === null ? null : { credential, cacheCounts: null };
  return new UpstreamTarget('t', transport, new CallerSlots({ calls: 10, streams: 10 }), { ...NO_TARGET_POLICIES, credential: source });
}

test('endSession sends the DELETE and resolves once the upstream answers', async () => {
  const transport = new RecordingTransport();
  await targetWith(transport, null).endSession(ctx, 'sid-1');
  assert.equal(transport.sent.length, 1);
  assert.equal(transport.sent[0]?.method, 'DELETE');
  assert.equal(transport.sent[0]?.sessionId, 'sid-1');
});

test('endSession resolves, unsent, when the credential source rejects', { timeout: 5000 }, async () => {
  const transport = new RecordingTransport();
  await targetWith(transport, () => Promise.reject(new Error('token endpoint down'))).endSession(ctx, 'sid-2');
  assert.equal(transport.sent.length, 0);
});

test('endSession resolves, unsent, when the credential source throws', async () => {
  const transport = new RecordingTransport();
  await targetWith(transport, () => {
    throw new Error('source broke');
  }).endSession(ctx, 'sid-3');
  assert.equal(transport.sent.length, 0);
});

test('endSession resolves when the transport throws', async () => {
  await targetWith(new ThrowingTransport(), null).endSession(ctx, 'sid-4');
});

test('a call whose credential source rejects fails closed with a backend-auth refusal, unsent', { timeout: 5000 }, async () => {
  const transport = new RecordingTransport();
  const target = targetWith(transport, () => Promise.reject(new Error('token endpoint down')));
  const text = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo' } });
  const failure = await new Promise<Error>((resolve, reject) => {
    target.send(ctx, { method: 'POST', sessionId: undefined, body: Buffer.from(text), message: parseMessage(text) }, {
      onConnect: () => {},
      onHeaders: () => {
        reject(new Error('answered'));
        return false;
      },
      onData: () => true,
      onComplete: () => reject(new Error('completed')),
      onError: resolve,
    });
  });
  assert.equal(failure.message, 'backend authentication failed: the credential source failed');
  assert.equal(Reflect.get(failure, 'code'), 'GW_BACKEND_AUTH');
  assert.equal(transport.sent.length, 0);
});
