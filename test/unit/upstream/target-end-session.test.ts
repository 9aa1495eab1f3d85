// Ending an upstream session is fired and forgotten (`void target.endSession(...)`): it must
// settle, and never reject, whatever the credential source or the transport does, since a
// rejection no one handles would end the gateway's process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnswerHandler } from '../../../src/main/upstream/answer.js';
import { answerWith } from '../../../src/main/upstream/answer.js';
import { CallerSlots } from '../../../src/main/upstream/caller-slots.js';
import type { CallerContext } from '../../../src/main/upstream/target.js';
import { UpstreamTarget } from '../../../src/main/upstream/target.js';
import { NO_TARGET_POLICIES } from '../../../src/main/upstream/target-policies.js';
import type { Transport, TransportRequest } from '../../../src/main/upstream/transport.js';
import type { BackendCredentialSource, Credential } from '../../../src/main/upstream-auth/credential.js';

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

const ctx: CallerContext = {
  headers: [],
  authorization: undefined,
  identity: { token: null, claims: null, headers: [], query: '' },
  celContext: () => ({ jwt: null, mcp: null, request: null, source: null }),
  caller: 'c',
  deadline: null,
  owner: () => 'o',
  trace: null,
};

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
