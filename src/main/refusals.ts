// What the gateway answers when it answers a request itself: one Refusal per case, its code
// naming it (src/protocol/errors.ts), its status, its JSON-RPC error code, and whether the
// answer is text or a JSON-RPC error. Every refusal path answers through toHttp / toJsonRpc, so
// every such answer carries its code: an `x-portcullis-error` field (an operator can tell the
// gateway's 429 or 502 from an upstream's), and `error.data.code` in a JSON-RPC error.

import { GatewayError, type RefusalCode } from '../protocol/errors.js';
import { JsonRpcError, type JsonRpcId } from '../protocol/jsonrpc.js';
import type { HeaderList } from './http/reply.js';

type Form = 'text' | 'json-rpc';

interface Shape {
  readonly status: number;
  readonly form: Form;
  readonly rpcCode: number;
}

const text = (status: number): Shape => ({ status, form: 'text', rpcCode: JsonRpcError.internalError });
const rpc = (status: number, rpcCode: number = JsonRpcError.internalError): Shape => ({ status, form: 'json-rpc', rpcCode });

/** JSON-RPC's implementation-defined server errors (-32000 to -32099). */
const serverError = -32000;
const sessionNotFound = -32001;

/** Each refusal's usual answer; a call site may give another status or form. */
export const REFUSALS: Readonly<Record<RefusalCode, Shape>> = {
  GW_LISTENER_NOT_FOUND: text(404),
  GW_ROUTE_NOT_FOUND: text(404),
  GW_METHOD_NOT_ALLOWED: text(405),
  GW_SHUTTING_DOWN: text(503),
  GW_UNAUTHENTICATED: text(401),
  GW_FORBIDDEN: text(403),
  GW_NO_BACKEND: text(500),
  GW_ORIGIN_NOT_ALLOWED: rpc(403, serverError),
  GW_BAD_REQUEST: text(400),
  GW_UNSUPPORTED_MEDIA_TYPE: text(415),
  GW_BODY_TOO_LARGE: text(413),
  GW_BUSY: text(503),
  GW_INVALID_MESSAGE: rpc(400, JsonRpcError.invalidRequest),
  GW_SESSION_NOT_FOUND: rpc(404, sessionNotFound),
  GW_SESSION_REQUIRED: rpc(400),
  GW_SESSION_LIMIT: rpc(503),
  GW_TOO_MANY_IN_FLIGHT: text(429),
  // A call the rules deny gets this too: a denied tool is indistinguishable from one that does not exist.
  GW_UNKNOWN_TARGET: rpc(200, JsonRpcError.invalidParams),
  GW_METHOD_NOT_FOUND: rpc(200, JsonRpcError.methodNotFound),
  GW_RATE_LIMITED: rpc(429, serverError),
  GW_CALLER_LIMIT: rpc(429),
  GW_BACKEND_AUTH: rpc(500),
  GW_REQUEST_TIMEOUT: rpc(504),
  GW_UPSTREAM_TIMEOUT: rpc(504),
  GW_UPSTREAM_UNAVAILABLE: rpc(502),
  GW_UPSTREAM_ANSWER: rpc(502),
  GW_CHANNEL_FAILED: rpc(502),
  GW_INTERNAL: text(500),
};

export interface RefusalOptions {
  readonly status?: number;
  readonly form?: Form;
  readonly rpcCode?: number;
  /** further header fields of the answer (Allow, Retry-After, WWW-Authenticate…) */
  readonly headers?: HeaderList;
  /** the access log's `error=`, when it says more than the message (never a credential) */
  readonly log?: string;
}

export class Refusal extends GatewayError {
  declare readonly code: RefusalCode;
  readonly status: number;
  readonly form: Form;
  readonly rpcCode: number;
  readonly headers: HeaderList;
  readonly log: string;

  constructor(code: RefusalCode, message: string, opts: RefusalOptions = {}) {
    super(code, message);
    const shape = REFUSALS[code];
    this.status = opts.status ?? shape.status;
    this.form = opts.form ?? shape.form;
    this.rpcCode = opts.rpcCode ?? shape.rpcCode;
    this.headers = opts.headers ?? [];
    this.log = opts.log ?? `${message.charAt(0).toLowerCase()}${message.slice(1)}`;
  }
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: HeaderList;
  readonly body: string;
}

/** The refusal as a text/plain answer. */
export function toHttp(r: Refusal): HttpAnswer {
  return { status: r.status, headers: [['content-type', 'text/plain'], ['x-portcullis-error', r.code], ...r.headers], body: r.message };
}

/** The refusal as a JSON-RPC error answering `id`. */
export function toJsonRpc(r: Refusal, id: JsonRpcId | null): HttpAnswer {
  const body = JSON.stringify({ jsonrpc: '2.0', id, error: { code: r.rpcCode, message: r.message, data: { code: r.code } } });
  return { status: r.status, headers: [['content-type', 'application/json'], ['x-portcullis-error', r.code], ...r.headers], body };
}

/** The refusal in its own form (`id` for a JSON-RPC one). */
export function answerOf(r: Refusal, id: JsonRpcId | null): HttpAnswer {
  return r.form === 'text' ? toHttp(r) : toJsonRpc(r, id);
}
