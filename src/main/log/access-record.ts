// One request's access-log record, filled in as the request moves through the pipeline and
// written once when the response ends (so a long SSE stream is logged when it closes). Fields
// come in agentgateway's fixed order; unset ones are left out. The text line is built by plain
// concatenation: one line per request is on the hot path. agentgateway prints values raw, except
// `error`, which is JSON-quoted; we also quote values that would not split as one field or that
// hold control characters (log-text.ts). `config.logging` may leave default fields out and append
// fields of its own (access-policy.ts), handed in as an AccessEdit.

import type { Claims } from '../../protocol/worker-contract.js';
import { logAddress } from '../http/address.js';
import type { RequestSnapshot } from '../http/request.js';
import type { AccessCelInput, AccessEdit, AccessValue } from './access-policy.js';
import type { AccessLine } from './logger.js';
import { quoted, textField as text } from './log-text.js';

/** Fields a client writes (a method, a tool name) are cut to this many characters: a request
 * body may be megabytes, and so could its log line be. */
export const maxField = 512;

export function clip(value: string | undefined): string | undefined {
  return value === undefined || value.length <= maxField ? value : `${value.slice(0, maxField)}…`;
}

/** The error text the relay gives a call mcpAuthorization refused. */
const deniedPrefix = 'mcp authorization denied:';

type Dropped = ReadonlySet<string> | null;

/** ` key=value`, or nothing when `config.logging` removes the field. */
function field(drop: Dropped, key: string, value: string | number): string {
  return drop !== null && drop.has(key) ? '' : text(key, value);
}

/** A run of fields as text, kept with what it was built from: consecutive requests mostly come
 * by the same route from the same client, and a line of fewer pieces is cheaper to flatten and
 * encode when its batch is written. */
interface Run {
  readonly drop: Dropped;
  readonly a: string;
  readonly b: string;
  readonly c: string;
  readonly d: string;
  readonly text: string;
}

const emptyRun: Run = { drop: null, a: '', b: '', c: '', d: '', text: '' };
let lastRoute = emptyRun;
let lastRequest = emptyRun;

function sameRun(run: Run, drop: Dropped, a: string, b: string, c: string, d: string): boolean {
  return run.drop === drop && run.a === a && run.b === b && run.c === c && run.d === d;
}

/** `gateway` to `route`. */
function routeFields(drop: Dropped, gateway: string, listener: string, routeRule: string, route: string): string {
  if (sameRun(lastRoute, drop, gateway, listener, routeRule, route)) return lastRoute.text;
  const text = field(drop, 'gateway', gateway) + field(drop, 'listener', listener) + field(drop, 'route_rule', routeRule) + field(drop, 'route', route);
  lastRoute = { drop, a: gateway, b: listener, c: routeRule, d: route, text };
  return text;
}

/** `src.addr` to `http.version`. */
function requestFields(drop: Dropped, srcAddr: string, method: string, host: string, path: string): string {
  if (sameRun(lastRequest, drop, srcAddr, method, host, path)) return lastRequest.text;
  const text =
    field(drop, 'src.addr', srcAddr === '' ? '' : logAddress(srcAddr)) +
    field(drop, 'http.method', method) +
    field(drop, 'http.host', host) +
    field(drop, 'http.path', path) +
    field(drop, 'http.version', 'HTTP/1.1');
  lastRequest = { drop, a: srcAddr, b: method, c: host, d: path, text };
  return text;
}

function addedText(name: string, value: AccessValue): string {
  return text(name, typeof value === 'object' ? JSON.stringify(value) : value);
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
  /** W3C trace context of the request, once tracing sets it (agentgateway's place for them) */
  traceId: string | undefined;
  spanId: string | undefined;
  jwtSub: string | undefined;
  protocol: 'http' | 'mcp' = 'http';
  mcpMethod: string | undefined;
  mcpTarget: string | undefined;
  mcpResourceType: string | undefined;
  mcpResourceName: string | undefined;
  error: string | undefined;
  readonly startedAt: number;
  /** when the response ended (performance.now() ms), set as it ends: the line's duration, its
   * timestamp and the metrics read this one clock reading; 0 until then */
  endedAt = 0;
  /** what access-log CEL reads: the request as it came, and the verified claims */
  readonly request: RequestSnapshot;
  claims: Claims | null = null;

  constructor(request: RequestSnapshot) {
    this.request = request;
    this.startedAt = request.startedAt;
  }

  /** The verified token's claims: `jwt.sub` for the line, all of them for `config.logging`. */
  setClaims(claims: Claims | null): void {
    this.claims = claims;
    const sub = claims?.['sub'];
    if (typeof sub === 'string') this.jwtSub = sub;
  }

  /** mcpAuthorization refused the call. */
  get denied(): boolean {
    return this.error?.startsWith(deniedPrefix) === true;
  }

  celInput(): AccessCelInput {
    return this;
  }

  #duration(): string {
    return `${Math.round((this.endedAt === 0 ? performance.now() : this.endedAt) - this.startedAt)}ms`;
  }

  text(edit?: AccessEdit): string {
    const drop = edit?.remove ?? null;
    let out =
      routeFields(drop, this.gateway, this.listener, this.routeRule, this.route) +
      requestFields(drop, this.srcAddr, this.method, this.host, this.path) +
      field(drop, 'http.status', this.status);
    if (this.traceId !== undefined) out += field(drop, 'trace.id', this.traceId);
    if (this.spanId !== undefined) out += field(drop, 'span.id', this.spanId);
    if (this.jwtSub !== undefined) out += field(drop, 'jwt.sub', this.jwtSub);
    out += field(drop, 'protocol', this.protocol);
    if (this.mcpMethod !== undefined) out += field(drop, 'mcp.method', clip(this.mcpMethod) ?? '');
    if (this.mcpTarget !== undefined) out += field(drop, 'mcp.target', clip(this.mcpTarget) ?? '');
    if (this.mcpResourceType !== undefined) out += field(drop, 'mcp.resource.type', this.mcpResourceType);
    if (this.mcpResourceName !== undefined) out += field(drop, 'mcp.resource.name', clip(this.mcpResourceName) ?? '');
    if (this.error !== undefined && drop?.has('error') !== true) out += ` error=${quoted(clip(this.error) ?? '')}`;
    if (drop?.has('duration') !== true) out += ` duration=${this.#duration()}`;
    if (edit !== undefined) for (const [name, value] of edit.add) out += addedText(name, value);
    return out;
  }

  /** The fields the JSON line and the server span share, from `gateway` to `protocol`, in
   * agentgateway's order (`put` leaves out the unset ones). */
  putRequestFields(put: (name: string, value: string | number | undefined) => void): void {
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
    put('trace.id', this.traceId);
    put('span.id', this.spanId);
    put('jwt.sub', this.jwtSub);
    put('protocol', this.protocol);
  }

  object(edit?: AccessEdit): Record<string, AccessValue> {
    const drop = edit?.remove ?? null;
    const o: Record<string, AccessValue> = {};
    const put = (k: string, v: string | number | undefined): void => {
      if (v !== undefined && v !== '' && (drop === null || !drop.has(k))) o[k] = v;
    };
    this.putRequestFields(put);
    put('mcp.method', clip(this.mcpMethod));
    put('mcp.target', clip(this.mcpTarget));
    put('mcp.resource.type', this.mcpResourceType);
    put('mcp.resource.name', clip(this.mcpResourceName));
    put('error', clip(this.error));
    put('duration', this.#duration());
    // Set as own members: a configured name such as `__proto__` stays a field.
    if (edit !== undefined) for (const [name, value] of edit.add) Object.defineProperty(o, name, { value, enumerable: true, writable: true, configurable: true });
    return o;
  }
}
