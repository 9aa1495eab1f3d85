// An OTLP trace receiver for tests: OTLP/HTTP with protobuf bodies (POST /v1/traces) and OTLP/gRPC
// (a @grpc/grpc-js server with TraceService/Export), both decoding what the exporter sent with a
// small protobuf wire reader written from opentelemetry-proto's trace.proto: spans as they
// arrived, ids in hex, attributes as plain values, each with its resource and scope.
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import { Server, ServerCredentials, type ServiceDefinition, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { listenLocal } from './ports.js';

export type AttributeValue = string | number | boolean | null;

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client */
  readonly kind: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error */
  readonly status: { readonly code: number; readonly message: string };
  readonly scope: string;
  readonly resource: Readonly<Record<string, AttributeValue>>;
}

export const SPAN_KIND = { server: 2, client: 3 } as const;

interface Field {
  readonly no: number;
  readonly wire: number;
  readonly int: bigint;
  readonly bytes: Buffer;
}

function varint(buf: Buffer, at: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[at++];
    if (b === undefined) throw new Error('truncated varint');
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [v, at];
    shift += 7n;
  }
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < buf.length) {
    const [key, next] = varint(buf, at);
    at = next;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, n] = varint(buf, at);
      out.push({ no, wire, int: v, bytes: Buffer.alloc(0) });
      at = n;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      const bytes = buf.subarray(at, at + size);
      out.push({ no, wire, int: size === 8 ? bytes.readBigUInt64LE() : BigInt(bytes.readUInt32LE()), bytes });
      at += size;
    } else if (wire === 2) {
      const [len, n] = varint(buf, at);
      const bytes = buf.subarray(n, n + Number(len));
      out.push({ no, wire, int: len, bytes });
      at = n + Number(len);
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

const text = (f: Field | undefined): string => (f === undefined ? '' : f.bytes.toString('utf8'));
const hex = (f: Field | undefined): string => (f === undefined ? '' : f.bytes.toString('hex'));

function anyValue(buf: Buffer): AttributeValue {
  const f = fields(buf)[0];
  if (f === undefined) return null;
  switch (f.no) {
    case 1:
      return text(f);
    case 2:
      return f.int !== 0n;
    case 3:
      return Number(BigInt.asIntN(64, f.int));
    case 4:
      return f.bytes.readDoubleLE();
    default:
      return `<${f.no}>`;
  }
}

function keyValues(list: readonly Field[]): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of list) {
    const parts = fields(kv.bytes);
    const value = parts.find((p) => p.no === 2);
    out[text(parts.find((p) => p.no === 1))] = value === undefined ? null : anyValue(value.bytes);
  }
  return out;
}

/** The spans of one ExportTraceServiceRequest. */
export function decodeExportRequest(body: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of fields(body).filter((f) => f.no === 1)) {
    const parts = fields(rs.bytes);
    const resourceField = parts.find((p) => p.no === 1);
    const resource = resourceField === undefined ? {} : keyValues(fields(resourceField.bytes).filter((f) => f.no === 1));
    for (const ss of parts.filter((p) => p.no === 2)) {
      const ssParts = fields(ss.bytes);
      const scopeField = ssParts.find((p) => p.no === 1);
      const scope = scopeField === undefined ? '' : text(fields(scopeField.bytes).find((f) => f.no === 1));
      for (const s of ssParts.filter((p) => p.no === 2)) {
        const f = fields(s.bytes);
        const one = (no: number): Field | undefined => f.find((x) => x.no === no);
        const statusParts = fields(one(15)?.bytes ?? Buffer.alloc(0));
        spans.push({
          traceId: hex(one(1)),
          spanId: hex(one(2)),
          parentSpanId: hex(one(4)),
          name: text(one(5)),
          kind: Number(one(6)?.int ?? 0n),
          startNs: one(7)?.int ?? 0n,
          endNs: one(8)?.int ?? 0n,
          attributes: keyValues(f.filter((x) => x.no === 9)),
          status: { code: Number(statusParts.find((x) => x.no === 3)?.int ?? 0n), message: text(statusParts.find((x) => x.no === 2)) },
          scope,
          resource,
        });
      }
    }
  }
  return spans;
}

export interface OtlpReceiver {
  /** host:port of the OTLP/HTTP listener */
  readonly httpHost: string;
  /** host:port of the OTLP/gRPC listener */
  readonly grpcHost: string;
  readonly spans: readonly ReceivedSpan[];
  /** export requests received, and the header fields (gRPC metadata) of the last one */
  readonly exports: number;
  readonly lastHeaders: Readonly<Record<string, string>>;
  /** The first span matching, already received or yet to come. */
  waitForSpan(match: (s: ReceivedSpan) => boolean, timeoutMs?: number): Promise<ReceivedSpan>;
  close(): Promise<void>;
}

const TRACE_SERVICE: ServiceDefinition = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    // An empty ExportTraceServiceResponse: full success.
    responseSerialize: () => Buffer.alloc(0),
    responseDeserialize: (b: Buffer) => b,
  },
};

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const events = new EventEmitter();
  let exports = 0;
  let lastHeaders: Record<string, string> = {};
  const received = (body: Buffer, headers: Record<string, string>): void => {
    exports++;
    lastHeaders = headers;
    for (const s of decodeExportRequest(body)) {
      spans.push(s);
      events.emit('span', s);
    }
  };

  const http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/x-protobuf') {
        res.writeHead(404).end();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      received(Buffer.concat(chunks), headers);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  const httpPort = await listenLocal(http);

  const grpc = new Server();
  grpc.addService(TRACE_SERVICE, {
    Export: (call: ServerUnaryCall<Buffer, Buffer>, done: sendUnaryData<Buffer>) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap())) headers[k] = String(v);
      received(call.request, headers);
      done(null, Buffer.alloc(0));
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) => {
    grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => (err === null ? resolve(port) : reject(err)));
  });

  return {
    httpHost: `127.0.0.1:${httpPort}`,
    grpcHost: `127.0.0.1:${grpcPort}`,
    spans,
    get exports() {
      return exports;
    },
    get lastHeaders() {
      return lastHeaders;
    },
    waitForSpan(match, timeoutMs = 10_000) {
      const seen = spans.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off('span', on);
          reject(new Error(`no matching span within ${timeoutMs} ms; received: ${spans.map((s) => s.name).join(', ')}`));
        }, timeoutMs);
        const on = (s: ReceivedSpan): void => {
          if (!match(s)) return;
          clearTimeout(timer);
          events.off('span', on);
          resolve(s);
        };
        events.on('span', on);
      });
    },
    close: async () => {
      grpc.forceShutdown();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
