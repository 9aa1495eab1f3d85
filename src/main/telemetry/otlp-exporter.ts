// The OTLP exporter of a tracing policy: protobuf over HTTP (`protocol: http`, to
// `<endpoint><path>`) or gRPC (`protocol: grpc`, agentgateway's default), loaded only for the
// protocol used. Export failures are logged when they start and when they stop, not per batch:
// a collector that is down must not flood the log.

import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';

export async function otlpExporter(settings: TracingConfig, logger: Logger): Promise<SpanExporter> {
  const headers = settings.headers.map(([k, v]) => [k, v.secret] as const);
  let inner: SpanExporter;
  if (settings.protocol === 'http') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    inner = new OTLPTraceExporter({ url: `${settings.endpoint}${settings.path}`, headers: Object.fromEntries(headers) });
  } else {
    const [{ OTLPTraceExporter }, { Metadata }] = await Promise.all([import('@opentelemetry/exporter-trace-otlp-grpc'), import('@grpc/grpc-js')]);
    const metadata = new Metadata();
    for (const [k, v] of headers) metadata.set(k, v);
    inner = new OTLPTraceExporter({ url: settings.endpoint, metadata });
  }
  return new ReportingExporter(inner, logger, `${settings.protocol} ${settings.endpoint}`);
}

class ReportingExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #logger: Logger;
  readonly #where: string;
  #failing = false;

  constructor(inner: SpanExporter, logger: Logger, where: string) {
    this.#inner = inner;
    this.#logger = logger;
    this.#where = where;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#inner.export(spans, (result) => {
      const failed = result.code !== ExportResultCode.SUCCESS;
      if (failed && !this.#failing) {
        this.#logger.warn('tracing', 'exporting spans failed; spans are dropped until the collector answers', [['collector', this.#where], ['error', result.error?.message ?? 'unknown']]);
      } else if (!failed && this.#failing) this.#logger.info('tracing', 'exporting spans again', [['collector', this.#where]]);
      this.#failing = failed;
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}
