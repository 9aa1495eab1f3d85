// Reply's back-pressure on a real uWS server and a real client: data uWS holds after a write that
// returned false must all reach a slow client even when nothing more is written (an upstream
// that goes quiet). uWS only flushes while writes go on; Reply's drain handler keeps it going.
// The same on node-front.ts, the front of the opt-in fallback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { FrontModule } from '../../../src/main/http/front.js';
import { nodeFront } from '../../../src/main/http/node-front.js';
import { Reply } from '../../../src/main/http/reply.js';
import { closeApp, loadUws } from '../../../src/main/http/uws.js';

const noNative = loadUws(true).native ? false : 'no uWebSockets.js native binary loads on this runtime';
const fronts: ReadonlyArray<readonly [string, () => FrontModule, string | false]> = [
  ['uWS', () => loadUws(false).module, noNative],
  ['node:http (the fallback)', () => nodeFront, false],
];

for (const [name, front, skip] of fronts) test(`${name}: everything written before the client read reaches it, with nothing written after`, { timeout: 30_000, skip }, async (t) => {
  const uws = front();
  const app = uws.App();
  const chunk = Buffer.alloc(1024 * 1024, 0x78);
  const chunks = 20;
  let drained = 0;
  app.get('/*', (res) => {
    const reply = new Reply(res);
    reply.head(200, [['content-type', 'application/octet-stream']]);
    for (let i = 0; i < chunks; i++) if (!reply.write(chunk)) reply.onDrain(() => drained++);
    // then silence: the response stays open
  });
  const port = await new Promise<number>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket) => (socket === false ? reject(new Error('listen failed')) : resolve(uws.us_socket_local_port(socket)))),
  );
  t.after(() => closeApp(app));
  const received = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes >= chunk.length * chunks) resolve(bytes);
      });
      res.on('error', reject);
    });
    t.after(() => req.destroy());
    req.on('error', reject);
    req.end();
  });
  assert.equal(received, chunk.length * chunks);
  assert.ok(drained >= 1, 'the drain callback ran');
});
