// Example upstream for Portcullis: the lab's echo MCP server, over Streamable HTTP at /mcp.
// Run: node dist/examples/echo-server/server.js [--port 8000] [--host localhost] [--mode stateful]
//        [--whoami [--jwks <url>]]
// Tests import startEchoServer() and use port 0.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { closeHttpServer, closeOnSignal, errorMessage, listenAll, originOf, parsePort, portOf } from '../shared/loopback.js';
import { createEchoMcpServer, type WhoamiTool } from './echo-mcp.js';
import { tokenCheck, type WhoamiOptions } from './whoami.js';

export type EchoServerMode = 'stateful' | 'stateless-sse' | 'stateless-json';
export const ECHO_SERVER_MODES: readonly EchoServerMode[] = ['stateful', 'stateless-sse', 'stateless-json'];

export interface EchoServerOptions {
  /** 0 = ephemeral (default) */
  readonly port?: number;
  /** default 127.0.0.1; `localhost` binds both 127.0.0.1 and ::1 */
  readonly host?: string;
  /** default stateful */
  readonly mode?: EchoServerMode;
  /** offer the `whoami` tool (default: not offered) */
  readonly whoami?: WhoamiOptions;
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
  const whoami: WhoamiTool | null = opts.whoami === undefined ? null : { check: tokenCheck(opts.whoami), jwksUrl: opts.whoami.jwksUrl };
  const create = (): McpServer => createEchoMcpServer(whoami);

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res, mode, sessions, create).catch((err: unknown) => {
      sendJsonRpcError(res, 500, -32603, `Internal error: ${errorMessage(err)}`);
    });
  };

  const servers = await listenAll(onRequest, host, opts.port ?? 0);
  const port = portOf(servers[0]);
  let closing: Promise<void> | undefined;

  return {
    url: `${originOf(host, port)}${MCP_PATH}`,
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
  create: () => McpServer,
): Promise<void> {
  if (new URL(req.url ?? '/', 'http://echo.invalid').pathname !== MCP_PATH) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    return;
  }
  if (mode === 'stateful') await handleStateful(req, res, sessions, create);
  else await handleStateless(req, res, mode === 'stateless-json', create);
}

async function handleStateful(req: IncomingMessage, res: ServerResponse, sessions: Map<string, Session>, create: () => McpServer): Promise<void> {
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
    const session = await openSession(sessions, create());
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
async function openSession(sessions: Map<string, Session>, server: McpServer): Promise<Session> {
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

async function handleStateless(req: IncomingMessage, res: ServerResponse, json: boolean, create: () => McpServer): Promise<void> {
  if (req.method !== 'POST') return sendJsonRpcError(res, 405, -32000, 'Method not allowed.', { allow: 'POST' });
  const body = await readJsonBody(req);
  if (!body.ok) return sendJsonRpcError(res, body.status, body.code, body.message);
  const server = create();
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

// ---- run as a script ----

function parseCliOptions(argv: readonly string[]): EchoServerOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      mode: { type: 'string' },
      whoami: { type: 'boolean' },
      jwks: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = parsePort(values.port ?? process.env['PORT'] ?? '8000');
  const mode = ECHO_SERVER_MODES.find((m) => m === (values.mode ?? 'stateful'));
  if (mode === undefined) throw new Error(`invalid mode: ${values.mode ?? ''} (expected ${ECHO_SERVER_MODES.join(', ')})`);
  if (values.jwks !== undefined && values.whoami !== true) throw new Error('--jwks is for the whoami tool: give --whoami too');
  if (values.jwks !== undefined && !URL.canParse(values.jwks)) throw new Error(`invalid --jwks URL: ${values.jwks}`);
  const base = { port, host: values.host ?? 'localhost', mode };
  return values.whoami === true ? { ...base, whoami: { jwksUrl: values.jwks ?? null } } : base;
}

async function main(argv: readonly string[]): Promise<void> {
  const server = await startEchoServer(parseCliOptions(argv));
  console.log(`echo MCP server listening on ${server.url}`);
  closeOnSignal('echo-server', () => server.close());
}

const scriptPath = process.argv[1];
if (scriptPath !== undefined && import.meta.url === pathToFileURL(scriptPath).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`echo-server: ${errorMessage(err)}`);
    process.exitCode = 1;
  });
}
