// One request's access-log record, filled in as the request moves through the pipeline and
// written once when the response ends (so a long SSE stream is logged when it closes). Fields
// come in agentgateway's fixed order; unset ones are left out. The text line is built by plain
// concatenation: one line per request is on the hot path. agentgateway prints values raw, except
// `error`, which is JSON-quoted; we also quote values that would not split as one field or that
// hold control characters (log-text.ts).

import { logAddress } from '../http/address.js';
import type { AccessLine } from './logger.js';
import { quoted, textField as text } from './log-text.js';

/** Fields a client writes (a method, a tool name) are cut to this many characters: a request
 * body may be megabytes, and so could its log line be. */
const maxField = 512;

function clip(value: string | undefined): string | undefined {
  return value === undefined || value.length <= maxField ? value : `${value.slice(0, maxField)}…`;
}

export class AccessRecord implements AccessLine {
  gateway = '';
  listener = '';
  routeRule = '';
  route = '';
  srcAddr = '';
  method = '';
  host = '';
  path = '';
  status = 0;
  jwtSub: string | undefined;
  protocol: 'http' | 'mcp' = 'http';
  mcpMethod: string | undefined;
  mcpTarget: string | undefined;
  mcpResourceType: string | undefined;
  mcpResourceName: string | undefined;
  error: string | undefined;
  readonly startedAt: number;

  constructor(startedAt: number) {
    this.startedAt = startedAt;
  }

  #duration(): string {
    return `${Math.round(performance.now() - this.startedAt)}ms`;
  }

  text(): string {
    let out =
      text('gateway', this.gateway) +
      text('listener', this.listener) +
      text('route_rule', this.routeRule) +
      text('route', this.route) +
      text('src.addr', this.srcAddr === '' ? '' : logAddress(this.srcAddr)) +
      text('http.method', this.method) +
      text('http.host', this.host) +
      text('http.path', this.path) +
      ' http.version=HTTP/1.1' +
      text('http.status', this.status);
    if (this.jwtSub !== undefined) out += text('jwt.sub', this.jwtSub);
    out += text('protocol', this.protocol);
    if (this.mcpMethod !== undefined) out += text('mcp.method', clip(this.mcpMethod) ?? '');
    if (this.mcpTarget !== undefined) out += text('mcp.target', clip(this.mcpTarget) ?? '');
    if (this.mcpResourceType !== undefined) out += text('mcp.resource.type', this.mcpResourceType);
    if (this.mcpResourceName !== undefined) out += text('mcp.resource.name', clip(this.mcpResourceName) ?? '');
    if (this.error !== undefined) out += ` error=${quoted(clip(this.error) ?? '')}`;
    return `${out} duration=${this.#duration()}`;
  }

  object(): Record<string, string | number> {
    const o: Record<string, string | number> = {};
    const put = (k: string, v: string | number | undefined): void => {
      if (v !== undefined && v !== '') o[k] = v;
    };
    put('gateway', this.gateway);
    put('listener', this.listener);
    put('route_rule', this.routeRule);
    put('route', this.route);
    put('src.addr', this.srcAddr === '' ? '' : logAddress(this.srcAddr));
    put('http.method', this.method);
    put('http.host', this.host);
    put('http.path', this.path);
    put('http.version', 'HTTP/1.1');
    put('http.status', this.status);
    put('jwt.sub', this.jwtSub);
    put('protocol', this.protocol);
    put('mcp.method', clip(this.mcpMethod));
    put('mcp.target', clip(this.mcpTarget));
    put('mcp.resource.type', this.mcpResourceType);
    put('mcp.resource.name', clip(this.mcpResourceName));
    put('error', clip(this.error));
    put('duration', this.#duration());
    return o;
  }
}
