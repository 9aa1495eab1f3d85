// The top-level `config:` block: runtime settings, read at start only (as agentgateway).

import { availableParallelism } from 'node:os';
import type { Env } from './env-expand.js';
import { readLogging } from './read-logging.js';
import { readLegacyTracing } from './read-tracing.js';
import { type IssueList, MapReader } from './schema-reader.js';
import { type LogFormat, type LoggingSettings, type RuntimeSettings, UPSTREAM_CLIENTS, type UpstreamClient } from './types.js';

/** agentgateway's `config` keys that Portcullis does not implement. */
const AGENTGATEWAY_ONLY = [
  'enableIpv6',
  'localXdsPath',
  'caAddress',
  'caAuthToken',
  'xdsAddress',
  'xdsAuthToken',
  'namespace',
  'gateway',
  'trustDomain',
  'serviceAccount',
  'clusterId',
  'network',
  'connectionTerminationDeadline',
  'connectionMinTerminationDeadline',
  'workerThreads',
  'metrics',
  'backend',
  'listener',
  'hbone',
  'dns',
];

export const DEFAULT_MAX_BODY_BYTES = 2_097_152;
export const DEFAULT_UPSTREAM_CLIENT: UpstreamClient = 'portcullis';
export const DEFAULT_LIST_CACHE_BYTES = 16 * 1024 * 1024;
/** Room for four answers of the largest size a filter holds (64 MiB), or 128 bodies of 2 MiB. */
export const DEFAULT_BUFFER_BUDGET_BYTES = 256 * 1024 * 1024;

export function defaultRuntime(): RuntimeSettings {
  return {
    // Leave a core for the event-loop thread; a pool much wider than 4 buys little for list filtering.
    workers: Math.max(1, Math.min(4, availableParallelism() - 1)),
    logFormat: 'text',
    logging: { filter: null, add: [], remove: [], level: [] },
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    listCacheBytes: DEFAULT_LIST_CACHE_BYTES,
    bufferBudgetBytes: DEFAULT_BUFFER_BUDGET_BYTES,
    adminAddr: 'localhost:15000',
    statsAddr: '[::]:15020',
    readinessAddr: '[::]:15021',
    sessionKey: null,
    upstreamCallsPerCaller: 64,
    upstreamStreamsPerCaller: 64,
    tracing: null,
    upstreamClient: DEFAULT_UPSTREAM_CLIENT,
  };
}

export function readRuntime(issues: IssueList, path: string, value: unknown, env: Env): RuntimeSettings {
  const defaults = defaultRuntime();
  if (value === undefined || value === null) return defaults;
  const m = MapReader.open(issues, path, value, {
    known: [
      'workers', 'logging', 'maxBufferSize', 'bufferBudgetBytes', 'listCacheBytes', 'adminAddr', 'statsAddr', 'readinessAddr', 'session',
      'upstreamCallsPerCaller', 'upstreamStreamsPerCaller', 'tracing', 'upstreamClient',
    ],
    unsupported: AGENTGATEWAY_ONLY,
  });
  if (m === undefined) return defaults;

  let logFormat: LogFormat = defaults.logFormat;
  let logging: LoggingSettings = defaults.logging;
  const loggingMap = m.map('logging', { known: ['format', 'level', 'filter', 'fields'] });
  if (loggingMap !== undefined) {
    logFormat = loggingMap.oneOf('format', ['text', 'json'] as const) ?? logFormat;
    logging = readLogging(loggingMap);
  }

  let sessionKey: string | null = defaults.sessionKey;
  const session = m.map('session', { known: ['key'] });
  if (session !== undefined) sessionKey = session.string('key', { required: true, nonEmpty: true }) ?? null;

  const maxBodyBytes = m.integer('maxBufferSize', { min: 1 }) ?? defaults.maxBodyBytes;
  // The budget must hold at least one body of the largest size accepted, or such a body could
  // never be taken: a configured budget below it is an error, the default grows to it.
  const budget = m.integer('bufferBudgetBytes', { min: 1 });
  if (budget !== undefined && budget < maxBodyBytes) {
    issues.add(`${path}.bufferBudgetBytes`, `expected at least config.maxBufferSize (${maxBodyBytes}): a body of that size could never be held`);
  }
  return {
    workers: m.integer('workers', { min: 0, max: 1024 }) ?? defaults.workers,
    logFormat,
    logging,
    maxBodyBytes,
    listCacheBytes: m.integer('listCacheBytes', { min: 0 }) ?? defaults.listCacheBytes,
    bufferBudgetBytes: budget ?? Math.max(defaults.bufferBudgetBytes, maxBodyBytes),
    adminAddr: readAddr(m, 'adminAddr', defaults.adminAddr),
    statsAddr: readAddr(m, 'statsAddr', defaults.statsAddr),
    readinessAddr: readAddr(m, 'readinessAddr', defaults.readinessAddr),
    sessionKey,
    upstreamCallsPerCaller: m.integer('upstreamCallsPerCaller', { min: 1 }) ?? defaults.upstreamCallsPerCaller,
    upstreamStreamsPerCaller: m.integer('upstreamStreamsPerCaller', { min: 1 }) ?? defaults.upstreamStreamsPerCaller,
    tracing: m.has('tracing') ? readLegacyTracing(issues, m.at('tracing'), m.value('tracing'), env) : null,
    upstreamClient: m.oneOf('upstreamClient', UPSTREAM_CLIENTS) ?? defaults.upstreamClient,
  };
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/]+):(\d{1,5})$/;

/** `host:port`; `null` or `false` turns the server off; absent keeps the default. */
function readAddr(m: MapReader, key: string, fallback: string | null): string | null {
  if (!m.hasKey(key)) return fallback;
  const v = m.raw(key);
  if (v === null || v === false) return null;
  const match = typeof v === 'string' ? HOST_PORT.exec(v) : null;
  if (match === null || Number(match[2]) > 65535) {
    m.issues.add(m.at(key), 'expected host:port (e.g. localhost:15000, [::]:15020), or null/false to turn it off');
    return fallback;
  }
  return match[0];
}
