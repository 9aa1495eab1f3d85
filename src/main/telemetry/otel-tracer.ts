// A tracing policy on the OpenTelemetry SDK: one BasicTracerProvider per policy and gateway
// (never registered globally, so gateways in one process do not share or fight over one), a
// BatchSpanProcessor to the OTLP exporter, and W3C trace context in and out.
//
// A request is traced when the client sent a valid `traceparent` and clientSampling (default
// true) says so, or when it sent none and randomSampling (default false) does; the provider's
// ParentBased sampler then honours the client's sampled flag (an unsampled trace is still
// propagated, with new span ids, as agentgateway does). Spans are started and ended with the
// request's own clock readings. With a `filter`, a request's spans are held until it ends and
// exported only when the filter keeps them.

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapSetter, trace, type Attributes, type Context, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { ParsedMessage } from '../../protocol/jsonrpc.js';
import type { TracingConfig } from '../config/types.js';
import { headerValue, type RequestSnapshot } from '../http/request.js';
import type { AccessRecord } from '../log/access-record.js';
import type { Logger } from '../log/logger.js';
import { otlpExporter } from './otlp-exporter.js';
import { calloutAttributes, serverAttributes, serverSpanName, upstreamSpan } from './span-attributes.js';
import { attributeValue, compile, compileEnd, guardedAttribute, endVars, evaluate, requestVars, sampler, type EndProgram, type Sampler } from './trace-cel.js';
import type { CalloutSpan, RequestTrace, RequestTracer, UpstreamSpan } from './tracing.js';

export interface TracerDeps {
  readonly logger: Logger;
  readonly version: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const propagator = new W3CTraceContextPropagator();

const snapshotGetter: TextMapGetter<RequestSnapshot> = {
  keys: (snap) => snap.headers.map(([k]) => k),
  get: (snap, key) => headerValue(snap, key),
};

export class OtelTracer implements RequestTracer {
  readonly #provider: BasicTracerProvider;
  readonly #tracer: Tracer;
  readonly #random: Sampler;
  readonly #client: Sampler;
  readonly #attributes: ReadonlyArray<readonly [string, EndProgram]>;
  readonly #remove: ReadonlySet<string>;
  readonly #filter: EndProgram | null;
  /** traces started and not ended: a retired tracer shuts down when none is left */
  #open = 0;
  #retired: (() => void) | null = null;
  #shutdown: Promise<void> | null = null;

  private constructor(settings: TracingConfig, provider: BasicTracerProvider, version: string) {
    this.#provider = provider;
    this.#tracer = provider.getTracer('portcullis', version);
    this.#random = sampler(settings.randomSampling, false);
    this.#client = sampler(settings.clientSampling, true);
    this.#attributes = settings.attributes.map(([k, expr]) => [k, compileEnd(expr)] as const);
    this.#remove = new Set(settings.remove);
    this.#filter = settings.filter === null ? null : compileEnd(settings.filter);
  }

  static async create(settings: TracingConfig, deps: TracerDeps): Promise<OtelTracer> {
    const exporter = await otlpExporter(settings, deps.logger);
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes(resourceAttributes(settings, deps)),
      sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      spanProcessors: [new BatchSpanProcessor(exporter)],
    });
    return new OtelTracer(settings, provider, deps.version);
  }

  start(snap: RequestSnapshot, record: AccessRecord): RequestTrace | null {
    let parent = ROOT_CONTEXT;
    let vars: ReturnType<typeof requestVars> | undefined;
    const once = (): ReturnType<typeof requestVars> => (vars ??= requestVars(snap));
    const fromClient = headerValue(snap, 'traceparent') === undefined ? null : propagator.extract(ROOT_CONTEXT, snap, snapshotGetter);
    // A malformed traceparent counts as none (agentgateway).
    if (fromClient !== null && trace.getSpanContext(fromClient) !== undefined) {
      if (this.#client === null || !this.#client(once)) return null;
      parent = fromClient;
    } else if (this.#random === null || !this.#random(once)) return null;
    const span = this.#tracer.startSpan('request', { kind: SpanKind.SERVER, startTime: snap.startedAt }, parent);
    const ids = span.spanContext();
    record.traceId = ids.traceId;
    record.spanId = ids.spanId;
    this.#open++;
    return new OtelRequestTrace(this, span, record);
  }

  /** The server span's end: attributes, filter, name and status, as the record says. */
  finish(t: OtelRequestTrace, span: Span, record: AccessRecord): void {
    this.#open--;
    let kept = false;
    if (span.isRecording()) {
      const attributes = serverAttributes(record);
      for (const k of this.#remove) delete attributes[k];
      let name = serverSpanName(record);
      const vars = this.#attributes.length > 0 || this.#filter !== null ? endVars(record) : null;
      if (vars !== null) {
        for (const [k, program] of this.#attributes) {
          const v = attributeValue(evaluate(program, vars));
          if (k === 'span.name' && typeof v === 'string') name = v;
          else if (v !== null) attributes[k] = guardedAttribute(k, v);
        }
      }
      // Keep semantics: anything but true (an error included) drops the request's spans.
      kept = this.#filter === null || vars === null || evaluate(this.#filter, vars) === true;
      if (kept) {
        span.updateName(name);
        span.setAttributes(attributes);
        if (record.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: record.error });
        span.end();
      }
    }
    t.settle(kept);
    if (this.#open === 0) this.#retired?.();
  }

  get filtered(): boolean {
    return this.#filter !== null;
  }

  child(name: string, attributes: Attributes, parent: Context): Span {
    return this.#tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
  }

  /** Shuts down (exporting what has ended) once no trace of it is open. */
  retire(): Promise<void> {
    return new Promise((resolve) => {
      this.#retired = () => {
        this.#retired = null;
        void this.shutdown().then(resolve);
      };
      if (this.#open === 0) this.#retired();
    });
  }

  /** Exports what has ended and stops; spans ending later are dropped. */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#provider.shutdown().catch(() => undefined);
    return this.#shutdown;
  }
}

function resourceAttributes(settings: TracingConfig, deps: TracerDeps): Attributes {
  const serviceName = deps.env['OTEL_SERVICE_NAME'];
  const out: Attributes = { 'service.name': serviceName === undefined || serviceName === '' ? 'portcullis' : serviceName, 'service.version': deps.version };
  const vars = { jwt: null, mcp: null, request: null, source: null };
  for (const [k, expr] of settings.resources) {
    const v = attributeValue(evaluate(compile(expr), vars));
    if (v !== null) out[k] = v;
  }
  return out;
}

class OtelRequestTrace implements RequestTrace {
  readonly #owner: OtelTracer;
  readonly #span: Span;
  readonly #context: Context;
  readonly #record: AccessRecord;
  /** with a filter: the ends of child spans, until the request's own end decides */
  #held: Array<() => void> | null;
  #kept: boolean | null = null;

  constructor(owner: OtelTracer, span: Span, record: AccessRecord) {
    this.#owner = owner;
    this.#span = span;
    this.#context = trace.setSpan(ROOT_CONTEXT, span);
    this.#record = record;
    this.#held = owner.filtered ? [] : null;
  }

  upstream(target: string, method: 'POST' | 'GET' | 'DELETE', message: ParsedMessage | null): UpstreamSpan {
    const { name, attributes } = upstreamSpan(target, method, message, this.#record);
    return new ClientSpan(this, this.#owner.child(name, attributes, this.#context), 'MCP');
  }

  child(name: string, attributes: Attributes, parent: Span): Span {
    return this.#owner.child(name, attributes, trace.setSpan(ROOT_CONTEXT, parent));
  }

  end(record: AccessRecord): void {
    if (this.#kept !== null) return;
    this.#owner.finish(this, this.#span, record);
  }

  /** Ends a child span now, or when the filter has decided. */
  close(span: Span): void {
    if (this.#held === null || this.#kept === true) span.end();
    else if (this.#kept === null) {
      const at = performance.now();
      this.#held.push(() => span.end(at));
    }
  }

  settle(kept: boolean): void {
    this.#kept = kept;
    const held = this.#held ?? [];
    this.#held = [];
    if (kept) for (const end of held) end();
  }
}

/** A client span: an upstream call (error type `MCP`), or a policy callout under one (`Oidc`). */
class ClientSpan implements UpstreamSpan {
  readonly #trace: OtelRequestTrace;
  readonly #span: Span;
  readonly #errorType: string;
  #ended = false;

  constructor(t: OtelRequestTrace, span: Span, errorType: string) {
    this.#trace = t;
    this.#span = span;
    this.#errorType = errorType;
  }

  inject(headers: Record<string, string>): void {
    propagator.inject(trace.setSpan(ROOT_CONTEXT, this.#span), headers, defaultTextMapSetter);
  }

  callout(method: string, url: string): CalloutSpan {
    return new ClientSpan(this.#trace, this.#trace.child('Oidc', calloutAttributes(method, url), this.#span), 'Oidc');
  }

  end(status: number): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#span.setAttribute('http.status', status);
    this.#trace.close(this.#span);
  }

  fail(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#span.setAttribute('error.type', this.#errorType);
    this.#span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
    this.#trace.close(this.#span);
  }
}
