// readBody on a real uWS server: every body reaches the handler byte for byte, small ones (copied
// into Node's shared Buffer pool), large ones in many chunks, and a body kept by the handler is
// not changed by the bodies read after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { ByteBudget } from '../../../src/main/http/byte-budget.js';
import { readBody } from '../../../src/main/http/request.js';
import { closeApp, loadUws } from '../../../src/main/http/uws.js';

const skip = loadUws(true).native ? false : 'no uWebSockets.js native binary loads on this runtime';

test('bodies read whole, each its own bytes however many come after', { timeout: 30_000, skip }, async (t) => {
  const uws = loadUws(false).module;
  const app = uws.App();
  const budget = new ByteBudget(64 * 1024 * 1024);
  const kept: Buffer[] = [];
  app.any('/*', (res) => {
    res.onAborted(() => {});
    void readBody(res, 16 * 1024 * 1024, budget.account(), () => {}).then((r) => {
      if (r.ok) kept.push(r.body);
      res.cork(() => res.end(r.ok ? String(r.body.length) : r.reason));
    });
  });
  const port = await new Promise<number>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket) => (socket === false ? reject(new Error('listen failed')) : resolve(uws.us_socket_local_port(socket)))),
  );
  t.after(() => closeApp(app));
  const sizes = [1, 100, 3_000, 4_095, 4_096, 5_000, 300_000, 17, 2_000, 2_000, 2_000, 2_000, 2_000];
  const sent = sizes.map((n) => randomBytes(n));
  for (const body of sent) {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', method: 'POST', headers: { 'content-length': body.length } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(answer, String(body.length));
  }
  assert.equal(kept.length, sent.length);
  for (const [i, body] of sent.entries()) assert.ok(kept[i]?.equals(body), `body ${i} (${body.length} bytes) as sent`);
});
