// What the request path sees of tracing: a config generation's tracer (null when tracing is
// off, so an untraced request costs one null check), a request's trace, and the spans of the
// calls made for it. The OpenTelemetry SDK behind them (otel-tracer.ts) is loaded only when a
// config turns tracing on.

import type { ParsedMessage } from '../../protocol/jsonrpc.js';
import type { RequestSnapshot } from '../http/request.js';
import type { AccessRecord } from '../log/access-record.js';

export interface RequestTracer {
  /** The request's trace, or null when it is not traced (no client trace honoured, not sampled).
   * A trace writes its ids into `record`, and reads the MCP fields from it as they are filled. */
  start(snap: RequestSnapshot, record: AccessRecord): RequestTrace | null;
}

/** One request's server span, from its start to `end`. */
export interface RequestTrace {
  /** A client span around one upstream call (`<method> <target>`), child of the server span. */
  upstream(target: string, method: 'POST' | 'GET' | 'DELETE', message: ParsedMessage | null): UpstreamSpan;
  /** Ends the server span with what the record says of the request. */
  end(record: AccessRecord): void;
}

/** Where a call made on behalf of a span (a policy's callout: a token endpoint) gets its own. */
export interface CalloutTracer {
  /** A client span `Oidc` around one HTTP exchange with an authorization server. */
  callout(method: string, url: string): CalloutSpan;
}

export interface CalloutSpan {
  /** Writes the span's W3C trace context into request header fields. */
  inject(headers: Record<string, string>): void;
  /** The exchange was answered (any status). */
  end(status: number): void;
  /** The exchange failed before an answer. */
  fail(reason: string): void;
}

/** One upstream call's span; the callouts of its credential are its children. Ending it twice
 * ends it once. */
export interface UpstreamSpan extends CalloutSpan, CalloutTracer {}
