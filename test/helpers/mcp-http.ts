// Raw MCP Streamable HTTP requests with fetch, for tests that must see statuses, headers and
// bodies exactly (the SDK client hides them). Replies are parsed from JSON or SSE alike.
import assert from 'node:assert/strict';

export const MCP_ACCEPT = 'application/json, text/event-stream';
export const PROTOCOL_VERSION = '2025-06-18';

export interface RpcRequest {
  readonly jsonrpc: '2.0';
  readonly id?: number | string;
  readonly method: string;
  readonly params?: Readonly<Record<string, unknown>>;
}

export function rpc(id: number, method: string, params?: Readonly<Record<string, unknown>>): RpcRequest {
  return params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
}

export function notification(method: string): RpcRequest {
  return { jsonrpc: '2.0', method };
}

export function initializeRequest(id = 1): RpcRequest {
  return rpc(id, 'initialize', {
    protocolVersion: PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: 'portcullis-integration-test', version: '0.0.0' },
  });
}

export interface McpRequestOptions {
  readonly token?: string;
  readonly sessionId?: string;
  readonly origin?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** HTTP method (default POST) */
  readonly method?: string;
}

export interface McpReply {
  readonly status: number;
  readonly headers: Headers;
  readonly contentType: string;
  readonly text: string;
  /** JSON-RPC messages from a JSON body or from SSE `data:` lines; [] for anything else */
  readonly messages: readonly Record<string, unknown>[];
}

export async function mcpFetch(url: string, body: RpcRequest | null, opts: McpRequestOptions = {}): Promise<McpReply> {
  // `connection: close`: no idle keep-alive socket outlives the test (a closed gateway does not
  // drop idle connections, and fetch's pool would hold the test process open for ~4 s).
  const headers: Record<string, string> = { accept: MCP_ACCEPT, connection: 'close', ...opts.headers };
  if (body !== null) headers['content-type'] = 'application/json';
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
  if (opts.sessionId !== undefined) {
    headers['mcp-session-id'] = opts.sessionId;
    headers['mcp-protocol-version'] = PROTOCOL_VERSION;
  }
  if (opts.origin !== undefined) headers['origin'] = opts.origin;
  const res = await fetch(url, {
    method: opts.method ?? 'POST',
    headers,
    ...(body === null ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  return { status: res.status, headers: res.headers, contentType, text, messages: parseMessages(contentType, text) };
}

export function parseMessages(contentType: string, text: string): Record<string, unknown>[] {
  const values: unknown[] = [];
  if (contentType.startsWith('application/json')) {
    try {
      const v: unknown = JSON.parse(text);
      if (Array.isArray(v)) values.push(...(v as unknown[]));
      else values.push(v);
    } catch {
      // not JSON after all
    }
  } else if (contentType.startsWith('text/event-stream')) {
    for (const event of text.split(/\r?\n\r?\n/)) {
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data === '') continue;
      try {
        values.push(JSON.parse(data));
      } catch {
        // a non-JSON event: ignore
      }
    }
  }
  return values.filter(isRecord);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The single JSON-RPC response in a reply (throws if there is not exactly one). */
export function onlyMessage(reply: McpReply): Record<string, unknown> {
  const responses = reply.messages.filter((m) => 'result' in m || 'error' in m);
  if (responses.length !== 1) throw new Error(`expected one JSON-RPC response, got ${responses.length}: ${reply.status} ${reply.text}`);
  return responses[0]!;
}

/** `result` of the reply's response, or throws with the error. */
export function resultOf(reply: McpReply): Record<string, unknown> {
  const m = onlyMessage(reply);
  const result = m['result'];
  if (!isRecord(result)) throw new Error(`no result: ${reply.text}`);
  return result;
}

/** `error` of the reply's response, or throws. */
export function errorOf(reply: McpReply): { readonly code: unknown; readonly message: unknown } {
  const m = onlyMessage(reply);
  const error = m['error'];
  if (!isRecord(error)) throw new Error(`no error: ${reply.text}`);
  return { code: error['code'], message: error['message'] };
}

/** Names (or `uri`s for resources) of the items of a list result. */
export function itemNames(result: Record<string, unknown>, key: 'tools' | 'prompts' | 'resources' | 'resourceTemplates'): string[] {
  const items = result[key];
  if (!Array.isArray(items)) throw new Error(`result has no "${key}" list: ${JSON.stringify(result)}`);
  return items.map((item: unknown) => {
    if (!isRecord(item)) return '?';
    const name = key === 'resources' ? item['uri'] : key === 'resourceTemplates' ? item['uriTemplate'] : item['name'];
    return typeof name === 'string' ? name : '?';
  });
}

/** initialize + notifications/initialized; returns the session id the gateway gave (if any). */
export async function openMcpSession(url: string, opts: McpRequestOptions = {}): Promise<{ sessionId: string | undefined; init: McpReply }> {
  const init = await mcpFetch(url, initializeRequest(), opts);
  if (init.status !== 200) throw new Error(`initialize: ${init.status} ${init.text}`);
  const sessionId = init.headers.get('mcp-session-id') ?? undefined;
  const note = await mcpFetch(url, notification('notifications/initialized'), { ...opts, ...(sessionId === undefined ? {} : { sessionId }) });
  if (note.status !== 202) throw new Error(`notifications/initialized: ${note.status} ${note.text}`);
  return { sessionId, init };
}

/** The text of a tool result's first content item (fails the test otherwise). */
export function toolText(result: unknown): string {
  if (!isRecord(result) || !Array.isArray(result['content'])) assert.fail(`not a tool result: ${JSON.stringify(result)}`);
  const first: unknown = result['content'][0];
  if (!isRecord(first) || typeof first['text'] !== 'string') assert.fail(`no text content: ${JSON.stringify(result)}`);
  return first['text'];
}

/** The JSON object the Inspector CLI printed on stdout (fails the test otherwise). */
export function inspectorJson(stdout: string): Record<string, unknown> {
  const v: unknown = JSON.parse(stdout);
  if (!isRecord(v)) assert.fail(`inspector printed no object: ${stdout}`);
  return v;
}
