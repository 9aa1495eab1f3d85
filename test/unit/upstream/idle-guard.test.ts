// The idle guard's rules, on calls that only record what happens to them: a paused body is
// never cut, its idle time starts again when the reader resumes, a head limit and a body limit
// apply in turn, each with undici's own error, and a call that ended is forgotten.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { errors } from 'undici';
import { GuardedCall, IdleGuard } from '../../../src/main/upstream/idle-guard.js';

class RecordedCall extends GuardedCall {
  readerPaused = false;
  readonly cut: Promise<Error>;
  #cut: (err: Error) => void = () => {};
  cutAt: number | null = null;

  constructor(guard: IdleGuard) {
    super();
    this.guard = guard;
    this.cut = new Promise((resolve) => (this.#cut = resolve));
  }

  get paused(): boolean {
    return this.held && this.readerPaused;
  }

  timedOut(err: Error): void {
    this.cutAt = performance.now();
    this.#cut(err);
  }

  start(): void {
    this.guardStart();
  }
  head(status: number, go = true): void {
    this.guardHead(status, go);
  }
  data(go = true): void {
    this.guardData(go);
  }
  end(): void {
    this.guardEnd();
  }
}

const limits = { headMs: 100, bodyMs: 150 };

/** A guard closed with the test; the process kept alive meanwhile (the guard's interval is unref'd). */
function guardFor(t: { after(fn: () => void): void }): IdleGuard {
  const guard = new IdleGuard(limits);
  const alive = setInterval(() => {}, 1_000);
  t.after(() => {
    clearInterval(alive);
    guard.close();
  });
  return guard;
}

test('no head within the head limit: HeadersTimeoutError, not before the limit', async (t) => {
  const guard = guardFor(t);
  const call = new RecordedCall(guard);
  const started = performance.now();
  call.start();
  assert.ok((await call.cut) instanceof errors.HeadersTimeoutError);
  assert.ok((call.cutAt ?? 0) - started >= limits.headMs);
});

test('a body silent past the body limit: BodyTimeoutError; a 1xx head restarts the head limit', async (t) => {
  const guard = guardFor(t);
  const call = new RecordedCall(guard);
  call.start();
  call.head(100);
  call.head(200);
  const headed = performance.now();
  assert.ok((await call.cut) instanceof errors.BodyTimeoutError);
  assert.ok((call.cutAt ?? 0) - headed >= limits.bodyMs);
});

test('a paused body is never cut; once resumed, its idle time counts from the resume', async (t) => {
  const guard = guardFor(t);
  const call = new RecordedCall(guard);
  call.start();
  call.head(200);
  call.data(false);
  call.readerPaused = true;
  await sleep(limits.bodyMs * 3);
  assert.equal(call.cutAt, null);
  call.readerPaused = false;
  const resumed = performance.now();
  assert.ok((await call.cut) instanceof errors.BodyTimeoutError);
  assert.ok((call.cutAt ?? 0) - resumed >= limits.bodyMs);
});

test('a call that ended is not cut, and the others still are', async (t) => {
  const guard = guardFor(t);
  const ended = new RecordedCall(guard);
  const silent = new RecordedCall(guard);
  ended.start();
  silent.start();
  ended.end();
  await silent.cut;
  assert.equal(ended.cutAt, null);
});
