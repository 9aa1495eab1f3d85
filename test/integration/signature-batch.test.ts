// Signatures checked on the event loop (the one-CPU mode, forced here) are checked a turn's at a
// time (verify-batch.ts). Many new tokens arriving in one turn — good ones, forged, expired, of an
// unknown key, one repeated, more than a batch takes — each get their own answer; clients that
// leave while their tokens wait are logged as such, and the gateway goes on serving. The test's
// sockets share the gateway's event loop: requests written in one go are all read in its next
// turn.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadUws } from '../../src/main/http/uws.js';
import { VERIFY_BATCH_CAP } from '../../src/main/policy-engine/verify-batch.js';
import { nativeRsa } from '../../src/workers/jwt/native-rsa.js';
import { tempDir } from '../helpers/files.js';
import { LAB_AUDIENCE, LAB_ISSUER, gatewayYaml, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { inSeconds, makeIssuer, type Issuer } from '../helpers/keys.js';
import { MCP_ACCEPT, initializeRequest } from '../helpers/mcp-http.js';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.js';

const cleanup: Array<() => Promise<void>> = [];
const suite = { after: (fn: () => Promise<void>): void => void cleanup.push(fn) };

let upstream: RecordingUpstream;
let gw: TestGateway;
let port: number;
let issuer: Issuer;

before(async () => {
  const dir = await tempDir(suite);
  issuer = await makeIssuer({ alg: 'RS256', kid: 'rsa-key' });
  await writeFile(join(dir, 'jwks-keyset'), JSON.stringify(issuer.jwks));
  upstream = await startRecordingUpstream();
  suite.after(() => upstream.close());
  gw = await startTestGateway(suite, { cwd: dir, configText: gatewayYaml({ upstreamUrl: upstream.url }), signaturesOnLoop: true });
  port = gw.gateway.port;
});

test.after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const BODY = JSON.stringify(initializeRequest());

function requestBytes(token: string): string {
  return [
    'POST /mcp HTTP/1.1',
    `host: 127.0.0.1:${port}`,
    `authorization: Bearer ${token}`,
    'content-type: application/json',
    `accept: ${MCP_ACCEPT}`,
    'connection: close',
    `content-length: ${Buffer.byteLength(BODY)}`,
    '',
    BODY,
  ].join('\r\n');
}

/** Resolves once a whole answer (its head and Content-Length's worth of body) came on `socket`. */
function oneAnswer(socket: Socket): Promise<void> {
  let text = '';
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer): void => {
      text += c.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1]);
      if (end < 0 || !(text.length - end - 4 >= length)) return;
      socket.off('data', onData);
      socket.off('error', reject);
      resolve();
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** Sockets to the gateway, one per request to send, each already accepted by the gateway (a
 * request without a token answered on it): a request written on a connection the gateway has
 * not accepted yet would be read a turn later. */
async function openSockets(count: number): Promise<Socket[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.off('error', reject);
            resolve(socket);
          });
          socket.once('error', reject);
        }),
    ),
  );
  await Promise.all(
    sockets.map((socket) => {
      const answered = oneAnswer(socket);
      socket.write(`GET /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\naccept: ${MCP_ACCEPT}\r\n\r\n`);
      return answered;
    }),
  );
  return sockets;
}

/** What came back on `socket` until it closed (latin1). */
function answerOf(socket: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

const verified = (outcome: string): number => gw.gateway.metrics.jwt.get({ outcome });

const posts = (): string[] => gw.log.accessLines().filter((l) => l.includes('http.method=POST'));

/** Resolves once the gateway has written `count` access lines of POSTs (the tests' requests; the
 * sockets' warm-up requests are GETs) since the `from`th. */
async function accessLines(from: number, count: number): Promise<string[]> {
  for (;;) {
    const lines = posts().slice(from);
    if (lines.length >= count) return lines;
    await gw.log.waitFor(/\tinfo\trequest /, { fromLine: gw.log.lines.length });
  }
}

const BAD_SIGNATURE = /signature does not verify/;
const EXPIRED = /token expired/;
const UNKNOWN_KID = /unknown key "no-such-key"/;

interface Case {
  readonly token: string;
  readonly status: number;
  readonly reason?: RegExp;
}

async function cases(): Promise<Case[]> {
  const claims = (i: number, extra: Readonly<Record<string, unknown>> = {}): Record<string, unknown> => ({ iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub: `user-${i}`, exp: inSeconds(600), ...extra });
  const out: Case[] = [];
  const shared = await issuer.sign(claims(-1));
  for (let i = 0; out.length < 2 * VERIFY_BATCH_CAP + 8; i++) {
    const good = await issuer.sign(claims(i));
    switch (i % 6) {
      case 0:
      case 1:
        out.push({ token: good, status: 200 });
        break;
      case 2: {
        // Another user's claims under this token's signature.
        const [h, , s] = good.split('.');
        out.push({ token: `${h}.${Buffer.from(JSON.stringify(claims(i, { sub: 'mallory' }))).toString('base64url')}.${s}`, status: 401, reason: BAD_SIGNATURE });
        break;
      }
      case 3:
        out.push({ token: await issuer.sign(claims(i, { exp: inSeconds(-600) })), status: 401, reason: EXPIRED });
        break;
      case 4:
        out.push({ token: await issuer.sign(claims(i), { kid: 'no-such-key' }), status: 401, reason: UNKNOWN_KID });
        break;
      case 5:
        // One token in several requests of the turn: they share one verification.
        out.push({ token: shared, status: 200 });
        break;
    }
  }
  return out;
}

/** Writes each row's request on its socket, in one go, and closes the sockets of `leaving` at
 * once (their requests are read, then the close, in the gateway's next turns). */
function sendAll(sockets: readonly Socket[], rows: readonly Case[], leaving: ReadonlySet<number> = new Set()): void {
  for (const [i, socket] of sockets.entries()) {
    socket.write(requestBytes(rows[i]?.token ?? ''));
    if (leaving.has(i)) socket.destroy();
  }
}

function statusOf(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]);
}

function count(rows: readonly Case[], reason: RegExp): number {
  return rows.filter((r) => r.reason === reason).length;
}

test('new tokens arriving in one turn, more than a batch, some bad, one repeated: each answered right, each verified once', async () => {
  const rows = await cases();
  const counted = { ok: verified('ok'), bad: verified('bad_signature'), expired: verified('expired'), unknown: verified('unknown_kid') };
  const relayed = upstream.requests.length;
  const linesBefore = posts().length;
  const sockets = await openSockets(rows.length);
  const answers = sockets.map(answerOf);
  sendAll(sockets, rows);
  const texts = await Promise.all(answers);
  for (const [i, text] of texts.entries()) {
    const row = rows[i];
    assert.ok(row !== undefined);
    assert.equal(statusOf(text), row.status, `request ${i}: ${text}`);
    if (row.reason !== undefined) assert.match(text, row.reason, `request ${i}`);
    else assert.match(text, /"serverInfo"/, `request ${i}`);
  }
  const good = rows.filter((r) => r.status === 200);
  // On uWS the burst is read in one turn, so the repeated token's requests share one check. The
  // fallback front (node:http) may read it over several turns: a later request then verifies
  // again or finds the token cached, and each such outcome counts as one more 'ok'.
  const distinct = counted.ok + new Set(good.map((r) => r.token)).size;
  if (loadUws(true).native) assert.equal(verified('ok'), distinct, 'the repeated token verified once');
  else assert.ok(verified('ok') >= distinct && verified('ok') <= counted.ok + good.length, `${verified('ok') - counted.ok} ok outcomes for ${good.length} requests`);
  assert.equal(verified('bad_signature'), counted.bad + count(rows, BAD_SIGNATURE));
  assert.equal(verified('expired'), counted.expired + count(rows, EXPIRED));
  assert.equal(verified('unknown_kid'), counted.unknown + count(rows, UNKNOWN_KID));
  assert.equal(upstream.requests.length, relayed + good.length, 'only the verified requests reach the upstream');
  assert.equal((await accessLines(linesBefore, rows.length)).length, rows.length);
});

test('clients that leave while their tokens wait are logged as such; the others, and later requests, are answered', async () => {
  const rows = await cases();
  const linesBefore = posts().length;
  const sockets = await openSockets(rows.length);
  const answers = sockets.map(answerOf);
  // Past the first batch: their tokens still wait when the gateway reads the close.
  const leaving = new Set(rows.map((_, i) => i).filter((i) => i >= VERIFY_BATCH_CAP + 4 && i % 3 === 0));
  sendAll(sockets, rows, leaving);
  const texts = await Promise.all(answers);
  for (const [i, text] of texts.entries()) {
    if (!leaving.has(i)) assert.equal(statusOf(text), rows[i]?.status, `request ${i}: ${text}`);
  }
  const lines = await accessLines(linesBefore, rows.length);
  assert.equal(lines.length, rows.length, 'one access line per request, the ones that left included');
  const closed = lines.filter((l) => l.includes('client closed the connection')).length;
  // uWS reads a request and its client's close in the same turn, before the turn's batch runs;
  // node:http (the fallback front) may hear of a close only after the request was answered,
  // which it then logs as answered.
  if (loadUws(true).native) assert.equal(closed, leaving.size);
  else assert.ok(closed <= leaving.size, `${closed} closes logged for ${leaving.size} clients that left`);

  const later = await openSockets(1);
  const answer = answerOf(later[0] as Socket);
  sendAll(later, [{ token: await issuer.sign({ iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub: 'later', exp: inSeconds(600) }), status: 200 }]);
  assert.equal(statusOf(await answer), 200);
});

test('the start log says where the signatures above were checked: on the event loop, RSA by the native verifier', () => {
  const line = gw.log.lines.find((l) => l.includes('token signatures checked'));
  assert.ok(line !== undefined, 'a start line about signature checks');
  if (process.env['PORTCULLIS_NATIVE_RSA'] === 'off') {
    assert.match(line, /on the event loop by node:crypto: the native RSA verifier is not in use.*PORTCULLIS_NATIVE_RSA=off/);
  } else {
    assert.match(line, /on the event loop, RSA by the native verifier/);
    assert.ok(line.includes(process.versions.openssl), `${line} names the running Node's OpenSSL ${process.versions.openssl}`);
    const rsa = nativeRsa();
    const ifma = rsa.loaded && rsa.module.ifma;
    assert.ok(line.includes('rsa_arithmetic') && line.includes('IFMA') === ifma, `${line} names the RSA arithmetic (IFMA on this CPU: ${String(ifma)})`);
  }
});
