// An MCP server (the SDK's, Streamable HTTP, stateless) that lets in only bearer tokens issued
// for it: signed by the trusted authorization server (jose, against its keys), `iss` that
// server, `aud` this target's audience, and carrying `act` or `client_id` (issued to someone
// acting for the user, not the user's own login token). Anything else gets 401. It records the
// tokens and claims it let in, and its `whoami` tool answers the caller's `sub` and `aud`, so a
// test can show each target got its own token for the same user.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { type JWK, type JWTPayload, createLocalJWKSet, jwtVerify } from 'jose';
import { listenLocal } from './ports.js';

export interface TokenCheckingUpstreamOptions {
  /** the authorization server whose tokens it takes */
  readonly issuer: string;
  readonly jwks: { readonly keys: readonly JWK[] };
  /** what `aud` must hold */
  readonly audience: string;
  /** a name for the MCP server (default token-checking-upstream) */
  readonly name?: string;
}

export interface SeenToken {
  readonly token: string;
  readonly claims: JWTPayload;
  /** the W3C trace context the request carried */
  readonly traceparent: string | undefined;
}

export interface TokenCheckingUpstream {
  /** http://127.0.0.1:<port>/mcp */
  readonly url: string;
  readonly audience: string;
  /** tokens let in, in order */
  readonly seen: readonly SeenToken[];
  /** requests answered 401, and why */
  readonly refused: readonly string[];
  close(): Promise<void>;
}

export async function startTokenCheckingUpstream(opts: TokenCheckingUpstreamOptions): Promise<TokenCheckingUpstream> {
  const keys = createLocalJWKSet({ keys: [...opts.jwks.keys] });
  const seen: SeenToken[] = [];
  const refused: string[] = [];

  const check = async (req: IncomingMessage): Promise<SeenToken | string> => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer ([^\s]+)$/i.exec(header);
    if (match?.[1] === undefined) return 'no bearer token';
    const token = match[1];
    try {
      const { payload } = await jwtVerify(token, keys, { issuer: opts.issuer, audience: opts.audience });
      if (payload['act'] === undefined && payload['client_id'] === undefined) return 'token has neither act nor client_id';
      const traceparent = req.headers['traceparent'];
      return { token, claims: payload, traceparent: typeof traceparent === 'string' ? traceparent : undefined };
    } catch (err: unknown) {
      return err instanceof Error ? err.message : String(err);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const who = await check(req);
    if (typeof who === 'string') {
      refused.push(who);
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer error="invalid_token"' }).end(`unauthorized: ${who}`);
      return;
    }
    seen.push(who);
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const server = new McpServer({ name: opts.name ?? 'token-checking-upstream', version: '0.0.0' });
    server.registerTool('whoami', { description: "The caller's sub and aud, as its token says" }, () => ({
      content: [{ type: 'text', text: JSON.stringify({ sub: who.claims.sub, aud: who.claims.aud }) }],
    }));
    // No session id generator: the SDK's stateless mode, one server and transport per POST.
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
    res.on('close', () => void server.close());
    await server.connect(transport);
    await transport.handleRequest(req, res);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(err instanceof Error ? err.message : String(err));
    });
  });
  const port = await listenLocal(http);
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    audience: opts.audience,
    seen,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

