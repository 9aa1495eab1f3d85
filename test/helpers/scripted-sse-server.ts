// scripted-server.ts over the legacy HTTP+SSE transport (2024-11-05): GET /sse opens a session's
// event stream, whose first event names where to POST; each POST is answered 202 and what the
// server sends goes out on the stream. One scripted server per session, as over stdio.
import { randomUUID } from 'node:crypto';
import { LogCapture } from './gateway-harness.js';
import { scriptedServer } from './scripted-server.js';
import { sseEvent, startStub } from './stub-upstream.js';

export interface ScriptedSseServer {
  /** http://127.0.0.1:<port>/sse */
  readonly url: string;
  /** the servers' notes, one line each */
  readonly notes: LogCapture;
  close(): Promise<void>;
}

export async function startScriptedSseServer(): Promise<ScriptedSseServer> {
  const notes = new LogCapture();
  const sessions = new Map<string, (message: unknown) => void>();
  const stub = await startStub(null, (req, res) => {
    const url = new URL(req.path, 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/sse') {
      const id = randomUUID();
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`event: endpoint\ndata: /messages?sessionId=${id}\n\n`);
      sessions.set(id, scriptedServer((m) => res.write(sseEvent(m, 'event: message\n')), (line) => notes.write(`${line}\n`)));
      res.on('close', () => sessions.delete(id));
      return;
    }
    const handle = sessions.get(url.searchParams.get('sessionId') ?? '');
    if (req.method !== 'POST' || url.pathname !== '/messages' || handle === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(202).end('Accepted');
    handle(JSON.parse(req.body));
  });
  return { url: `http://127.0.0.1:${stub.port}/sse`, notes, close: stub.close };
}
