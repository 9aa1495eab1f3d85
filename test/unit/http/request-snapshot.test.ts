// snapshotRequest on a real uWS server: the Host it keeps is the request's first Host field
// without its port, and every header comes along in arrival order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { snapshotRequest, type RequestSnapshot } from '../../../src/main/http/request.js';
import { closeApp, loadUws } from '../../../src/main/http/uws.js';

const skip = loadUws(true).native ? false : 'no uWebSockets.js native binary loads on this runtime';

/** Sends `head` (a request without a body) and waits for the answer to end. */
function send(port: number, head: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(head));
    socket.on('data', () => {});
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

test('the first Host field, its port left off, and every header in order', { timeout: 30_000, skip }, async (t) => {
  const uws = loadUws(false).module;
  const app = uws.App();
  const seen: RequestSnapshot[] = [];
  app.any('/*', (res, req) => {
    seen.push(snapshotRequest(req, res));
    res.end('');
  });
  const port = await new Promise<number>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket) => (socket === false ? reject(new Error('listen failed')) : resolve(uws.us_socket_local_port(socket)))),
  );
  t.after(() => closeApp(app));
  await send(port, 'GET /a?x=1 HTTP/1.1\r\nHost: one.example:8443\r\nX-Thing: 1\r\nHost: two.example\r\nConnection: close\r\n\r\n');
  await send(port, 'GET /b HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n');
  await send(port, 'DELETE /c HTTP/1.1\r\nX-Other: 2\r\nHost: c.example\r\nConnection: close\r\n\r\n');
  assert.deepEqual(
    seen.map((s) => ({ method: s.method, path: s.path, query: s.query, host: s.host, headers: s.headers, remoteAddress: s.remoteAddress })),
    [
      { method: 'GET', path: '/a', query: 'x=1', host: 'one.example', headers: [['host', 'one.example:8443'], ['x-thing', '1'], ['host', 'two.example'], ['connection', 'close']], remoteAddress: '127.0.0.1' },
      { method: 'GET', path: '/b', query: '', host: '[::1]', headers: [['host', '[::1]:80'], ['connection', 'close']], remoteAddress: '127.0.0.1' },
      { method: 'DELETE', path: '/c', query: '', host: 'c.example', headers: [['x-other', '2'], ['host', 'c.example'], ['connection', 'close']], remoteAddress: '127.0.0.1' },
    ],
  );
});
