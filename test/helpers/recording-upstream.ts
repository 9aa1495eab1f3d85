// Upstreams that show what the gateway sent: a tiny JSON-RPC responder that records every
// request (headers included), and a recording reverse proxy to put in front of a real MCP server.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenLocal } from './ports.js';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** name, value, name, value… as received (node:http's `headers` object drops a `__proto__` field) */
  readonly rawHeaders: readonly string[];
  readonly body: string;
  /** the JSON-RPC method of the body, if it has one */
  readonly rpcMethod: string | undefined;
}

export interface RecordingUpstream {
  /** http://127.0.0.1:<port>/mcp */
  readonly url: string;
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

/**
 * Answers every JSON-RPC request with a JSON result (initialize gets a proper InitializeResult,
 * tools/list an empty list, anything else `{}`) and notifications with 202. No sessions, unless
 * `sessionId` is given: then initialize's answer opens that one (`Mcp-Session-Id`).
 */
export async function startRecordingUpstream(opts: { readonly sessionId?: string } = {}): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    void readAll(req).then((body) => {
      const parsed = parseJson(body);
      const rpcMethod = typeof parsed?.['method'] === 'string' ? parsed['method'] : undefined;
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body, rpcMethod });
      if (req.method !== 'POST' || parsed === undefined) {
        res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST only');
        return;
      }
      if (!('id' in parsed)) {
        res.writeHead(202).end();
        return;
      }
      const result =
        rpcMethod === 'initialize'
          ? { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'recording-upstream', version: '0.0.0' } }
          : rpcMethod === 'tools/list'
            ? { tools: [] }
            : {};
      const session = rpcMethod === 'initialize' && opts.sessionId !== undefined ? { 'mcp-session-id': opts.sessionId } : {};
      res.writeHead(200, { 'content-type': 'application/json', ...session }).end(JSON.stringify({ jsonrpc: '2.0', id: parsed['id'], result }));
    });
  });
  const port = await listenLocal(server);
  return { url: `http://127.0.0.1:${port}/mcp`, requests, close: () => closeServer(server) };
}

export interface ProxiedExchange {
  readonly method: string;
  readonly rpcMethod: string | undefined;
  /** the tool/prompt name or resource uri in params, if any */
  readonly rpcTarget: string | undefined;
  readonly requestHeaders: IncomingHttpHeaders;
  readonly status: number;
  readonly responseContentType: string | undefined;
  readonly responseSessionId: string | undefined;
}

export interface RecordingProxy {
  /** http://127.0.0.1:<port><path of target> */
  readonly url: string;
  readonly exchanges: readonly ProxiedExchange[];
  close(): Promise<void>;
}

/** A reverse proxy to `targetUrl` that streams responses through and records each exchange. */
export async function startRecordingProxy(targetUrl: string): Promise<RecordingProxy> {
  const target = new URL(targetUrl);
  const exchanges: ProxiedExchange[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void readAll(req).then((body) => {
      const parsed = parseJson(body);
      const params = parsed?.['params'];
      const p = typeof params === 'object' && params !== null && !Array.isArray(params) ? (params as Record<string, unknown>) : {};
      const t = p['name'] ?? p['uri'];
      const headers = { ...req.headers, host: target.host };
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers },
        (up) => {
          const sid = up.headers['mcp-session-id'];
          exchanges.push({
            method: req.method ?? '',
            rpcMethod: typeof parsed?.['method'] === 'string' ? parsed['method'] : undefined,
            rpcTarget: typeof t === 'string' ? t : undefined,
            requestHeaders: req.headers,
            status: up.statusCode ?? 0,
            responseContentType: up.headers['content-type'],
            responseSessionId: typeof sid === 'string' ? sid : undefined,
          });
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          res.on('close', () => up.destroy());
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      upstream.end(body === '' ? undefined : body);
    });
  });
  const port = await listenLocal(server);
  return { url: `http://127.0.0.1:${port}${target.pathname}`, exchanges, close: () => closeServer(server) };
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}


function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
