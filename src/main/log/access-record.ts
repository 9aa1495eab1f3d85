// One request's access-log record, filled in as the request moves through the pipeline and
// written once when the response ends (so a long SSE stream is logged when it closes).

import type { LogFields } from './logger.js';
import { logAddress } from '../http/address.js';

export class AccessRecord {
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

  fields(): LogFields {
    return [
      ['gateway', this.gateway],
      ['listener', this.listener],
      ['route_rule', this.routeRule],
      ['route', this.route],
      ['src.addr', this.srcAddr === '' ? '' : logAddress(this.srcAddr)],
      ['http.method', this.method],
      ['http.host', this.host],
      ['http.path', this.path],
      ['http.version', 'HTTP/1.1'],
      ['http.status', this.status],
      ['jwt.sub', this.jwtSub],
      ['protocol', this.protocol],
      ['mcp.method', this.mcpMethod],
      ['mcp.target', this.mcpTarget],
      ['mcp.resource.type', this.mcpResourceType],
      ['mcp.resource.name', this.mcpResourceName],
      ['error', this.error],
      ['duration', `${Math.round(performance.now() - this.startedAt)}ms`],
    ];
  }
}
