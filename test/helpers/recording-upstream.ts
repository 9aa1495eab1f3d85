// Upstreams that show what the gateway sent: a tiny JSON-RPC responder that records every
// request (headers included), and a recording reverse proxy to put in front of a real MCP server.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { initializeResult, isNotification, resultFor, sendJson, startStub, type StubRequest } from './stub-upstream.js';

export type RecordedRequest = StubRequest;

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
  return startStub(null, (req, res) => {
    if (req.method !== 'POST' || req.message === undefined) {
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST only');
      return;
    }
    if (isNotification(req)) {
      res.writeHead(202).end();
      return;
    }
    const result = req.rpcMethod === 'initialize' ? initializeResult('recording-upstream') : req.rpcMethod === 'tools/list' ? { tools: [] } : {};
    const session = req.rpcMethod === 'initialize' && opts.sessionId !== undefined ? { 'mcp-session-id': opts.sessionId } : {};
    sendJson(res, resultFor(req, result), session);
  });
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
  const stub = await startStub(null, (req, res) => {
    const params = req.message?.['params'];
    const p = typeof params === 'object' && params !== null && !Array.isArray(params) ? Object.fromEntries(Object.entries(params)) : {};
    const t = p['name'] ?? p['uri'];
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.path, method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
      const sid = up.headers['mcp-session-id'];
      exchanges.push({
        method: req.method,
        rpcMethod: req.rpcMethod,
        rpcTarget: typeof t === 'string' ? t : undefined,
        requestHeaders: req.headers,
        status: up.statusCode ?? 0,
        responseContentType: up.headers['content-type'],
        responseSessionId: typeof sid === 'string' ? sid : undefined,
      });
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      res.on('close', () => up.destroy());
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    upstream.end(req.body === '' ? undefined : req.body);
  });
  return { url: `http://127.0.0.1:${stub.port}${target.pathname}`, exchanges, close: stub.close };
}
