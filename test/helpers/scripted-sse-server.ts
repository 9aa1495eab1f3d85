// scripted-server.ts over the legacy HTTP+SSE transport (2024-11-05): GET /sse opens a session's
// event stream, whose first event names where to POST; each POST is answered 202 and what the
// server sends goes out on the stream. One scripted server per session, as over stdio.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { LogCapture } from './gateway-harness.js';
import { scriptedServer } from './scripted-server.js';

export interface ScriptedSseServer {
  /** http://127.0.0.1:<port>/sse */
  readonly url: string;
  /** the servers' notes, one line each */
  readonly notes: LogCapture;
  close(): Promise<void>;
}

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) if (chunk instanceof Buffer) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startScriptedSseServer(): Promise<ScriptedSseServer> {
  const notes = new LogCapture();
  const sessions = new Map<string, (message: unknown) => void>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/sse') {
      const id = randomUUID();
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`event: endpoint\ndata: /messages?sessionId=${id}\n\n`);
      sessions.set(id, scriptedServer((m) => res.write(`event: message\ndata: ${JSON.stringify(m)}\n\n`), (line) => notes.write(`${line}\n`)));
      res.on('close', () => sessions.delete(id));
      return;
    }
    const handle = sessions.get(url.searchParams.get('sessionId') ?? '');
    if (req.method !== 'POST' || url.pathname !== '/messages' || handle === undefined) {
      res.writeHead(404).end();
      return;
    }
    void readAll(req).then((body) => {
      res.writeHead(202).end('Accepted');
      handle(JSON.parse(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/sse`,
    notes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
