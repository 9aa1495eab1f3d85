// The attributes of the spans, under agentgateway's names (telemetry/log.rs, mcp/upstream):
// the server span carries what the access log line does; an upstream call's client span its
// target, method and tool; a policy callout's its HTTP exchange.

import type { Attributes } from '@opentelemetry/api';
import type { ParsedMessage } from '../../protocol/jsonrpc.js';
import type { AccessRecord } from '../log/access-record.js';

/** The server span's attributes, in agentgateway's order; unset ones left out. */
export function serverAttributes(record: AccessRecord): Attributes {
  const a: Attributes = {};
  const put = (k: string, v: string | number | undefined): void => {
    if (v !== undefined && v !== '') a[k] = v;
  };
  record.putRequestFields(put);
  put('mcp.method.name', record.mcpMethod);
  put('mcp.target', record.mcpTarget);
  const type = record.mcpResourceType;
  put('mcp.resource.type', type);
  if (type === 'resource') put('mcp.resource.uri', record.mcpResourceName);
  if (type === 'tool') put('gen_ai.tool.name', record.mcpResourceName);
  if (type === 'prompt') put('gen_ai.prompt.name', record.mcpResourceName);
  put('duration', `${Math.round(performance.now() - record.startedAt)}ms`);
  put('url.scheme', 'http');
  put('network.protocol.version', '1.1');
  return a;
}

/** The server span's name: the JSON-RPC method, else the HTTP method and the route. */
export function serverSpanName(record: AccessRecord): string {
  if (record.mcpMethod !== undefined) return record.mcpMethod;
  return record.route === '' ? record.method : `${record.method} ${record.route}`;
}

/** An upstream call's span name and attributes: `<method> <target>`, a call's
 * `<method> <target>_<name>` (the name the target knows), `GET`/`DELETE <target>`, and
 * `response <target>` for the client's answer to a server's request. */
export function upstreamSpan(target: string, method: 'POST' | 'GET' | 'DELETE', message: ParsedMessage | null, record: AccessRecord): { readonly name: string; readonly attributes: Attributes } {
  const attributes: Attributes = { 'agentgateway.outbound.kind': 'Primary', 'agentgateway.outbound.subtype': 'Mcp', 'mcp.target': target };
  if (method !== 'POST' || message === null || message.kind === 'invalid') return { name: `${method} ${target}`, attributes };
  if (message.kind === 'response') return { name: `response ${target}`, attributes };
  const rpc = message.method;
  attributes['mcp.method.name'] = rpc;
  const name = record.mcpTarget === target ? record.mcpResourceName : undefined;
  const type = record.mcpResourceType;
  if (name === undefined || !((rpc === 'tools/call' && type === 'tool') || (rpc === 'prompts/get' && type === 'prompt'))) return { name: `${rpc} ${target}`, attributes };
  if (type === 'tool') attributes['gen_ai.tool.name'] = name;
  return { name: `${rpc} ${target}_${name}`, attributes };
}

/** A token endpoint (or metadata) exchange: `Oidc`, a Policy callout. */
export function calloutAttributes(method: string, url: string): Attributes {
  const attributes: Attributes = { 'agentgateway.outbound.kind': 'Policy', 'agentgateway.outbound.subtype': 'Oidc', 'http.method': method };
  if (URL.canParse(url)) {
    const u = new URL(url);
    // The path only: a query may carry a credential.
    attributes['http.host'] = u.hostname;
    attributes['http.path'] = u.pathname;
  }
  return attributes;
}
