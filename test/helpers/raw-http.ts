// HTTP below the client libraries, for what they cannot send or do not answer: bytes written on
// a connection, and an upstream that answers every request with one status.
import { connect } from 'node:net';
import type { CleanupHost } from './files.js';
import { startStub } from './stub-upstream.js';

/** Writes `bytes` on a new connection to the URL's host and port; resolves with what came back
 * (as latin1: one character per byte) once the connection closes, whichever side closed it. */
export function rawExchange(url: string, bytes: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

/** An upstream answering every request with `status` and a text body; resolves with its /mcp URL. */
export async function startStatusUpstream(t: CleanupHost, status: number): Promise<string> {
  const stub = await startStub(t, (_req, res) => res.writeHead(status, { 'content-type': 'text/plain' }).end('no'));
  return stub.url;
}
