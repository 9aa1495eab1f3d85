// Example upstream for Portcullis: the lab's echo MCP server, over Streamable HTTP at /mcp.
// Run: node dist/examples/echo-server/server.js [--port 8000] [--host localhost] [--mode stateful]
// Tests import startEchoServer() and use port 0.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createEchoMcpServer } from './echo-mcp.js';

export type EchoServerMode = 'stateful' | 'stateless-sse' | 'stateless-json';
export const ECHO_SERVER_MODES: readonly EchoServerMode[] = ['stateful', 'stateless-sse', 'stateless-json'];

export interface EchoServerOptions {
  /** 0 = ephemeral (default) */
  readonly port?: number;
  /** default 127.0.0.1; `localhost` binds both 127.0.0.1 and ::1 */
  readonly host?: string;
  /** default stateful */
  readonly mode?: EchoServerMode;
}

export interface EchoServer {
  /** e.g. http://127.0.0.1:41234/mcp */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

interface Session {
  readonly server: McpServer;
  readonly transport: StreamableHTTPServerTransport;
}

type BodyResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly status: number; readonly code: number; readonly message: string };

const MCP_PATH = '/mcp';
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export async function startEchoServer(opts: EchoServerOptions = {}): Promise<EchoServer> {
  const mode = opts.mode ?? 'stateful';
  const host = opts.host ?? '127.0.0.1';
  const sessions = new Map<string, Session>();

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res, mode, sessions).catch((err: unknown) => {
      sendJsonRpcError(res, 500, -32603, `Internal error: ${errorMessage(err)}`);
    });
  };

  const servers = await listenAll(onRequest, host, opts.port ?? 0);
  const port = portOf(servers[0]);
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${MCP_PATH}`,
    port,
    close() {
      closing ??= (async () => {
        const open = [...sessions.values()];
        sessions.clear();
        // Closing the McpServer closes its transport, which ends any open SSE streams.
        await Promise.allSettled(open.map((s) => s.server.close()));
        await Promise.all(servers.map(closeHttpServer));
      })();
      return closing;
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  mode: EchoServerMode,
  sessions: Map<string, Session>,
): Promise<void> {
  if (new URL(req.url ?? '/', 'http://echo.invalid').pathname !== MCP_PATH) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    return;
  }
  if (mode === 'stateful') await handleStateful(req, res, sessions);
  else await handleStateless(req, res, mode === 'stateless-json');
}

async function handleStateful(req: IncomingMessage, res: ServerResponse, sessions: Map<string, Session>): Promise<void> {
  const sid = sessionIdOf(req);
  if (req.method === 'POST') {
    const body = await readJsonBody(req);
    if (!body.ok) return sendJsonRpcError(res, body.status, body.code, body.message);
    if (sid !== undefined) {
      const session = sessions.get(sid);
      if (session === undefined) return sendJsonRpcError(res, 404, -32001, 'Session not found');
      return session.transport.handleRequest(req, res, body.value);
    }
    if (!isInitializeRequest(body.value)) {
      return sendJsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    }
    const session = await openSession(sessions);
    return session.transport.handleRequest(req, res, body.value);
  }
  if (req.method === 'GET' || req.method === 'DELETE') {
    if (sid === undefined) return sendJsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    const session = sessions.get(sid);
    if (session === undefined) return sendJsonRpcError(res, 404, -32001, 'Session not found');
    return session.transport.handleRequest(req, res);
  }
  sendJsonRpcError(res, 405, -32000, 'Method not allowed.', { allow: 'GET, POST, DELETE' });
}

/** A session enters the table only once `initialize` succeeded, and leaves it when its transport closes (DELETE or shutdown). */
async function openSession(sessions: Map<string, Session>): Promise<Session> {
  const server = createEchoMcpServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => {
      sessions.set(id, { server, transport });
    },
  });
  // Set before connect(): the SDK's Protocol chains its own onclose onto this one.
  transport.onclose = () => {
    if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
  };
  await server.connect(transport);
  return { server, transport };
}

async function handleStateless(req: IncomingMessage, res: ServerResponse, json: boolean): Promise<void> {
  if (req.method !== 'POST') return sendJsonRpcError(res, 405, -32000, 'Method not allowed.', { allow: 'POST' });
  const body = await readJsonBody(req);
  if (!body.ok) return sendJsonRpcError(res, body.status, body.code, body.message);
  const server = createEchoMcpServer();
  // No sessionIdGenerator: the SDK's stateless mode, one server+transport per POST.
  const transport = new StreamableHTTPServerTransport({ enableJsonResponse: json });
  res.on('close', () => {
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body.value);
}

function sessionIdOf(req: IncomingMessage): string | undefined {
  const value = req.headers['mcp-session-id'];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

async function readJsonBody(req: IncomingMessage): Promise<BodyResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY_BYTES) return { ok: false, status: 413, code: -32000, message: 'Request body too large' };
    chunks.push(buf);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return { ok: true, value };
  } catch {
    return { ok: false, status: 400, code: -32700, message: 'Parse error: Invalid JSON' };
  }
}

function sendJsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } }));
}

/**
 * `localhost` means both loopback addresses: the lab's gateway dials http://localhost:8000/mcp,
 * and a client may resolve that to ::1 or 127.0.0.1. Binding `::` would reach beyond loopback.
 */
async function listenAll(onRequest: (req: IncomingMessage, res: ServerResponse) => void, host: string, port: number): Promise<Server[]> {
  if (host !== 'localhost') return [await listenOne(onRequest, host, port)];
  // With port 0 the v4 port may be taken on ::1; try a few ephemeral ports before giving up.
  for (let attempt = 0; ; attempt++) {
    const v4 = await listenOne(onRequest, '127.0.0.1', port);
    try {
      return [v4, await listenOne(onRequest, '::1', portOf(v4))];
    } catch (err) {
      const code = errorCode(err);
      if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') return [v4]; // no IPv6 loopback here
      await closeHttpServer(v4);
      if (code !== 'EADDRINUSE' || port !== 0 || attempt >= 4) throw err;
    }
  }
}

function listenOne(onRequest: (req: IncomingMessage, res: ServerResponse) => void, host: string, port: number): Promise<Server> {
  const server = createServer(onRequest);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function portOf(server: Server | undefined): number {
  const address = server?.address();
  if (address === null || address === undefined || typeof address === 'string') throw new Error('server is not listening on TCP');
  return address.port;
}

function closeHttpServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // GET streams and keep-alive sockets would otherwise hold close() open.
    server.closeAllConnections();
  });
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---- run as a script ----

function parseCliOptions(argv: readonly string[]): EchoServerOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: { port: { type: 'string' }, host: { type: 'string' }, mode: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  const portText = values.port ?? process.env['PORT'] ?? '8000';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new Error(`invalid port: ${portText}`);
  const mode = ECHO_SERVER_MODES.find((m) => m === (values.mode ?? 'stateful'));
  if (mode === undefined) throw new Error(`invalid mode: ${values.mode ?? ''} (expected ${ECHO_SERVER_MODES.join(', ')})`);
  return { port: Number(portText), host: values.host ?? 'localhost', mode };
}

async function main(argv: readonly string[]): Promise<void> {
  const server = await startEchoServer(parseCliOptions(argv));
  console.log(`echo MCP server listening on ${server.url}`);
  const stop = (): void => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    // Once the servers are closed nothing is left on the event loop and the process exits 0.
    server.close().catch((err: unknown) => {
      console.error(`echo-server: ${errorMessage(err)}`);
      process.exitCode = 1;
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

const scriptPath = process.argv[1];
if (scriptPath !== undefined && import.meta.url === pathToFileURL(scriptPath).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`echo-server: ${errorMessage(err)}`);
    process.exitCode = 1;
  });
}
