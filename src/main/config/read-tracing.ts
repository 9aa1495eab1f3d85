// OpenTelemetry tracing as agentgateway configures it: `frontendPolicies.tracing` (HEAD), and the
// deprecated `config.tracing`, which agentgateway turns into the former at load (both set is an
// error). Sampling values are CEL, or a bool or a number written as such (agentgateway's
// StringBoolFloat); every expression is checked here against the environment it runs in.
//
// Portcullis sends spans to a collector named by address: `frontendPolicies.tracing.host`, or
// `config.tracing.otlpEndpoint`; service and backend references and the collector's connection
// `policies` are not implemented.

import { celAnyValueProblem, celLogProblem, celSamplingProblem } from './cel-check.js';
import type { Env } from './env-expand.js';
import { type IssueList, MapReader, isPlainObject, keyPath } from './schema-reader.js';
import type { SecretValue, TracingConfig } from './types.js';

/** agentgateway's `frontendPolicies` keys besides `tracing`. */
const FRONTEND_ONLY = ['http', 'tls', 'tcp', 'networkAuthorization', 'networkExtAuthz', 'proxyProtocol', 'proxy', 'connect', 'accessLog', 'logging'];

const DEFAULT_PATH = '/v1/traces';
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[^\s/?#@:[\]]+):(\d{1,5})$/;

/** `frontendPolicies:`; only its `tracing` is implemented. */
export function readFrontendPolicies(issues: IssueList, path: string, value: unknown): TracingConfig | null {
  const m = MapReader.open(issues, path, value, { known: ['tracing'], unsupported: FRONTEND_ONLY });
  const t = m?.map('tracing', {
    known: ['host', 'protocol', 'path', 'attributes', 'resources', 'remove', 'randomSampling', 'clientSampling', 'filter'],
    unsupported: ['service', 'backend', 'policies'],
  });
  if (t === undefined) return null;
  const kind = t.choice(['host'] as const, ['service', 'backend']);
  const host = kind === 'host' ? t.string('host', { nonEmpty: true }) : undefined;
  const hostPort = host === undefined ? null : HOST_PORT.exec(host);
  if (host !== undefined && (hostPort === null || !validPort(hostPort[2]))) t.issues.add(t.at('host'), 'expected host:port (e.g. otel-collector:4317)');
  const filter = t.string('filter');
  if (filter !== undefined) check(t, 'filter', filter, (e) => celLogProblem(e, true));
  const config: TracingConfig = {
    endpoint: `http://${host ?? ''}`,
    protocol: t.oneOf('protocol', ['grpc', 'http'] as const) ?? 'grpc',
    path: readPath(t),
    headers: [],
    attributes: expressions(t, 'attributes', (e) => celLogProblem(e, false)),
    resources: expressions(t, 'resources', celAnyValueProblem),
    remove: t.stringList('remove') ?? [],
    randomSampling: sampling(t, 'randomSampling'),
    clientSampling: sampling(t, 'clientSampling'),
    filter: filter ?? null,
  };
  return hostPort === null ? null : config;
}

/** The deprecated `config.tracing`. Its collector may also come from agentgateway's environment
 * variables, which win over the file as they do there. */
export function readLegacyTracing(issues: IssueList, path: string, value: unknown, env: Env): TracingConfig | null {
  const m = MapReader.open(issues, path, value, {
    known: ['otlpEndpoint', 'headers', 'otlpProtocol', 'fields', 'randomSampling', 'clientSampling', 'path'],
  });
  if (m === undefined) return null;
  const envEndpoint = firstEnv(env, ['OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT']);
  const configured = m.string('otlpEndpoint', { nonEmpty: true });
  const written = envEndpoint ?? configured;
  const where = envEndpoint === undefined ? m.at('otlpEndpoint') : `${m.at('otlpEndpoint')} (from the environment)`;
  if (written === undefined && !m.has('otlpEndpoint')) {
    issues.add(m.at('otlpEndpoint'), 'required (or one of OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT in the environment)');
  }
  const endpoint = written === undefined ? null : legacyEndpoint(written);
  if (written !== undefined && endpoint === null) {
    issues.add(where, 'expected host:port or an http://, https:// (TLS) or grpc:// URL with a host');
  }
  const fields = m.map('fields', { known: ['add', 'remove'] });
  const protocol = envProtocol(issues, path, env) ?? m.oneOf('otlpProtocol', ['grpc', 'http'] as const) ?? 'grpc';
  const config: TracingConfig = {
    endpoint: endpoint?.origin ?? '',
    protocol,
    path: endpoint?.path ?? readPath(m),
    headers: [...readHeaders(m), ...envHeaders(issues, path, env)],
    attributes: fields === undefined ? [] : expressions(fields, 'add', (e) => celLogProblem(e, false)),
    resources: [],
    remove: fields?.stringList('remove') ?? [],
    randomSampling: sampling(m, 'randomSampling'),
    clientSampling: sampling(m, 'clientSampling'),
    filter: null,
  };
  return endpoint === null ? null : config;
}

function validPort(port: string | undefined): boolean {
  const n = Number(port);
  return n >= 1 && n <= 65535;
}

function firstEnv(env: Env, names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** agentgateway's deprecated endpoint: `host:port`, or a URL whose scheme says TLS (`https`) or
 * not (`http`, `grpc`, the latter's port 4317 by default), whose path (if any) is the OTLP path. */
function legacyEndpoint(text: string): { readonly origin: string; readonly path: string | null } | null {
  if (!text.includes('://')) {
    const hp = HOST_PORT.exec(text);
    return hp !== null && validPort(hp[2]) ? { origin: `http://${text}`, path: null } : null;
  }
  const scheme = /^(https?|grpc):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined || !URL.canParse(`http${text.slice(scheme.length)}`)) return null;
  const u = new URL(`http${text.slice(scheme.length)}`);
  if (u.hostname === '' || u.username !== '' || u.password !== '') return null;
  const port = u.port !== '' ? u.port : scheme === 'grpc' ? '4317' : scheme === 'https' ? '443' : '80';
  const rest = `${u.pathname}${u.search}`;
  return { origin: `${scheme === 'https' ? 'https' : 'http'}://${u.hostname}:${port}`, path: rest === '/' ? null : rest };
}

function readPath(m: MapReader): string {
  const path = m.string('path', { nonEmpty: true });
  if (path !== undefined && !path.startsWith('/')) m.issues.add(m.at('path'), 'must start with /');
  return path ?? DEFAULT_PATH;
}

function readHeaders(m: MapReader): Array<readonly [string, SecretValue]> {
  const v = m.value('headers');
  if (v === undefined) return [];
  if (!isPlainObject(v)) {
    m.issues.add(m.at('headers'), 'expected a mapping of header names to values');
    return [];
  }
  const out: Array<readonly [string, SecretValue]> = [];
  for (const [name, value] of Object.entries(v)) {
    if (typeof value === 'string') out.push([name.toLowerCase(), { secret: value, file: null }]);
    else m.issues.add(keyPath(m.at('headers'), name), 'expected a string');
  }
  return out;
}

/** OTLP_HEADERS (or the OTEL names): `k=v,k2=v2` or a JSON object. */
function envHeaders(issues: IssueList, path: string, env: Env): Array<readonly [string, SecretValue]> {
  for (const name of ['OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS']) {
    const raw = env[name]?.trim();
    if (raw === undefined) continue;
    const pairs = raw.startsWith('{') ? jsonPairs(raw) : commaPairs(raw);
    if (pairs === null) issues.add(`${path}.headers`, `${name} in the environment: expected k=v,k2=v2 or a JSON object of strings`);
    return (pairs ?? []).map(([k, v]) => [k.toLowerCase(), { secret: v, file: null }] as const);
  }
  return [];
}

function jsonPairs(raw: string): Array<readonly [string, string]> | null {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isPlainObject(v)) return null;
  const out: Array<readonly [string, string]> = [];
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') return null;
    out.push([k, value]);
  }
  return out;
}

function commaPairs(raw: string): Array<readonly [string, string]> | null {
  const out: Array<readonly [string, string]> = [];
  for (const pair of raw.split(',')) {
    if (pair.trim() === '') continue;
    const at = pair.indexOf('=');
    if (at < 0) return null;
    out.push([pair.slice(0, at).trim(), pair.slice(at + 1).trim()]);
  }
  return out;
}

function envProtocol(issues: IssueList, path: string, env: Env): 'grpc' | 'http' | undefined {
  for (const name of ['OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const raw = env[name];
    if (raw === undefined) continue;
    const v = raw.trim().replace(/^"|"$/g, '').toLowerCase();
    if (v === 'grpc') return 'grpc';
    if (v === 'http' || v === 'http/protobuf') return 'http';
    issues.add(`${path}.otlpProtocol`, `${name} in the environment: expected grpc or http/protobuf (http/json is not supported)`);
    return undefined;
  }
  return undefined;
}

/** A mapping of names to CEL expressions, each checked. */
function expressions(m: MapReader, key: string, problemOf: (expr: string) => string | null): Array<readonly [string, string]> {
  const v = m.value(key);
  if (v === undefined) return [];
  if (!isPlainObject(v)) {
    m.issues.add(m.at(key), 'expected a mapping of names to CEL expressions');
    return [];
  }
  const out: Array<readonly [string, string]> = [];
  for (const [name, expr] of Object.entries(v)) {
    const p = keyPath(m.at(key), name);
    if (typeof expr !== 'string') m.issues.add(p, 'expected a CEL expression (a string literal needs inner quotes: \'"on"\')');
    else if (checkAt(m.issues, p, expr, problemOf)) out.push([name, expr]);
  }
  return out;
}

/** agentgateway's StringBoolFloat, as the CEL text it compiles. */
function sampling(m: MapReader, key: string): string | null {
  const v = m.value(key);
  if (v === undefined) return null;
  const text = typeof v === 'string' ? v : typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) ? String(v) : undefined;
  if (text === undefined) {
    m.issues.add(m.at(key), 'expected a CEL expression, true or false, or a probability from 0.0 to 1.0');
    return null;
  }
  return check(m, key, text, celSamplingProblem) ? text : null;
}

function check(m: MapReader, key: string, expr: string, problemOf: (expr: string) => string | null): boolean {
  return checkAt(m.issues, m.at(key), expr, problemOf);
}

function checkAt(issues: IssueList, path: string, expr: string, problemOf: (expr: string) => string | null): boolean {
  const problem = problemOf(expr);
  if (problem !== null) issues.add(path, problem);
  return problem === null;
}
