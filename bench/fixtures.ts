// Fixed MCP payloads shared by the stub upstream, the runner and the A/B tool: request bodies
// the load generator sends, the answers the stub gives, the gateway configs and the token walk. No I/O.
//
// Tool names alternate `read_<i>` / `write_<i>` (with `echo` first), so the bench rule
// `!mcp.tool.name.startsWith("write_")` keeps exactly half of every list (+ echo).

import type { PipeliningPolicy, UpstreamClient } from '../src/main/config/types.js';
import { isRecord } from '../src/protocol/is-record.js';

export const PROTOCOL_VERSION = '2025-11-25';

/** One tool with a realistic JSON-schema input (≈ 430 B of JSON each, 20 ≈ 8.6 KB). */
function tool(i: number): Record<string, unknown> {
  const name = i === 0 ? 'echo' : `${i % 2 === 0 ? 'read' : 'write'}_${i}`;
  return {
    name,
    title: `Bench tool ${i}`,
    description: `Bench tool ${i}: answers every call with the same text.`,
    inputSchema: {
      type: 'object',
      properties: {
        message: { type: 'string', description: 'Text echoed back by the tool' },
        count: { type: 'integer', minimum: 1, maximum: 100, description: 'How many times' },
        verbose: { type: 'boolean', description: 'Return extra detail' },
      },
      required: ['message'],
      additionalProperties: false,
    },
  };
}

export function tools(n: number): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => tool(i));
}

/** The `result` member of a tools/list answer with n tools. */
export function toolsListResult(n: number): string {
  return JSON.stringify({ tools: tools(n) });
}

export const CALL_RESULT = JSON.stringify({ content: [{ type: 'text', text: 'hi' }], isError: false });

export const INITIALIZE_RESULT = JSON.stringify({
  protocolVersion: PROTOCOL_VERSION,
  capabilities: { tools: { listChanged: false } },
  serverInfo: { name: 'portcullis-bench-stub', version: '1.0.0' },
});

/** Request bodies the load generator sends. `call4k`: the echo call with ~4 KB of arguments
 * beside its message (text and a list of small objects), as agents send documents and queries. */
export const BODIES = {
  call: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } }),
  call4k: JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'echo', arguments: { message: 'hi', text: 'lorem ipsum '.repeat(290), items: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: i })) } },
  }),
  list: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
} as const;

/** The bench's allow rule: about half of every list (echo and read_*), and the echo call. */
export const ALLOW_RULE = 'jwt.sub == "bench" && !mcp.tool.name.startsWith("write_")';

/** n rules where all n are evaluated for every item: n-1 deny rules that are false, then ALLOW_RULE. */
export function ruleSet(n: number): Array<string | { deny: string }> {
  const out: Array<string | { deny: string }> = [];
  for (let i = 1; i < n; i++) out.push({ deny: `jwt.sub == "blocked_${i}"` });
  out.push(ALLOW_RULE);
  return out;
}

/** The bench's token issuer and audience (the runner and the A/B tool sign with them). */
export const ISSUER = 'bench-issuer';
export const AUDIENCE = 'portcullis-bench';

/** A gateway config (JSON, which is YAML): strict jwtAuth against a JWKS file, `rules` rules
 * (0: no mcpAuthorization), the stub as the one target; `listCache: false` turns the list cache
 * off; `exchangePort` gives the target a token exchange at that loopback port's /token;
 * `tracingPort` traces every request (randomSampling: true) to an OTLP/HTTP collector there. */
export function gatewayConfig(o: {
  readonly port: number;
  readonly stubPort: number;
  readonly jwksFile: string;
  readonly rules: number;
  readonly listCache?: boolean;
  readonly exchangePort?: number;
  readonly tracingPort?: number;
  /** an HTTPS listener with this certificate and key (file paths) */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** `config.upstreamClient` (unset: the gateway's default) */
  readonly upstreamClient?: UpstreamClient;
  /** the stub target's `http.pipelining` (unset: none) */
  readonly pipelining?: PipeliningPolicy;
}): string {
  const policies: Record<string, unknown> = {
    jwtAuth: { mode: 'strict', issuer: ISSUER, audiences: [AUDIENCE], jwks: { file: o.jwksFile } },
  };
  if (o.rules > 0) policies['mcpAuthorization'] = { rules: ruleSet(o.rules) };
  const target: Record<string, unknown> = { name: 'stub', mcp: { host: `http://127.0.0.1:${o.stubPort}/mcp` } };
  if (o.exchangePort !== undefined) {
    target['policies'] = {
      backendAuth: {
        oauthTokenExchange: {
          host: `127.0.0.1:${o.exchangePort}`,
          path: '/token',
          clientAuth: { clientId: 'portcullis-bench', clientSecret: 'bench-secret' },
          audiences: ['bench-stub'],
        },
      },
    };
  }
  if (o.pipelining !== undefined) target['policies'] = { ...(isRecord(target['policies']) ? target['policies'] : {}), http: { pipelining: o.pipelining } };
  const route = { policies, backends: [{ mcp: { targets: [target] } }] };
  const config = { ...(o.listCache === false ? { listCacheBytes: 0 } : {}), ...(o.upstreamClient === undefined ? {} : { upstreamClient: o.upstreamClient }) };
  return JSON.stringify({
    ...(Object.keys(config).length === 0 ? {} : { config }),
    ...(o.tracingPort === undefined ? {} : { frontendPolicies: { tracing: { host: `127.0.0.1:${o.tracingPort}`, protocol: 'http', randomSampling: true } } }),
    binds: [{ port: o.port, listeners: [{ ...(o.tls === undefined ? {} : { protocol: 'HTTPS', tls: o.tls }), routes: [route] }] }],
  });
}

/** `count` distinct tokens (a `jti` each), 128 signed at a time: the fresh-token walks of the
 * runner and the A/B tool. */
export async function signDistinctTokens(sign: (claims: Record<string, unknown>) => Promise<string>, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 128) {
    const batch: Array<Promise<string>> = [];
    for (let j = i; j < Math.min(count, i + 128); j++) batch.push(sign({ roles: ['bench'], jti: `t${j}` }));
    tokens.push(...(await Promise.all(batch)));
  }
  return tokens;
}
