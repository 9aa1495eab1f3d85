// startGateway: the embeddable entry. No global state: every gateway owns its uWS apps, its
// policy engines (worker pool or inline), its upstream pools and its logger, so several can run in one
// process, and uWS listens with SO_REUSEPORT so several processes can share a port. It wires the
// parts: the config generations (generation.ts), the binds (binds.ts), reloads (reload.ts) and
// the ops listeners (ops/).

import { Binds } from './binds.js';
import { formatIssues } from './config/load.js';
import { ConfigSource } from './config/source.js';
import type { ConfigIssue, GatewayConfig, LogFormat, UpstreamClient } from './config/types.js';
import { Generations, type UpstreamParts } from './generation.js';
import type { FrontModule } from './http/front.js';
import { ByteBudget } from './http/byte-budget.js';
import { loadUws } from './http/uws.js';
import { createLogger, type LogSink, type Logger } from './log/logger.js';
import type { EngineRunner } from './policy-engine/runner.js';
import { LegacySessions } from './mcp/legacy-sse.js';
import { createSessionCodec } from './mcp/session-id.js';
import { StreamGate } from './mcp/stream-gate.js';
import { registerGatewayGauges } from './ops/gateway-gauges.js';
import { Metrics } from './ops/metrics.js';
import { startOpsServers, type OpsServers } from './ops/ops-servers.js';
import { createRequestHandler, type PipelineDeps } from './pipeline.js';
import { Reloader, type ReloadResult } from './reload.js';
import { CallerSlots } from './upstream/caller-slots.js';
import { ChannelHub } from './upstream/channels/channel-hub.js';
import { HttpPools, type UpstreamIdleLimits } from './upstream/http-transport.js';
import { version } from './version.js';
import { TracingHost } from './telemetry/tracing-host.js';
import { GatewayError } from '../protocol/errors.js';

export { ListenError } from './binds.js';
export type { ReloadResult } from './reload.js';

export interface GatewayOptions {
  /** A config already loaded; otherwise one of configFile / configText (neither: an empty config). */
  readonly config?: GatewayConfig;
  readonly configFile?: string;
  readonly configText?: string;
  /** Where relative JWKS paths resolve (agentgateway: the process working directory). */
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Overrides `config.workers`. */
  readonly workers?: number;
  /** Overrides `signaturesOnLoop()` (src/main/policy-engine/runner.ts), e.g. to run the one-CPU
   * mode on a machine with more. */
  readonly signaturesOnLoop?: boolean;
  /** Overrides `config.logging.format`. */
  readonly logFormat?: LogFormat;
  /** Where log lines go (default: stdout through pino's destination). */
  readonly logSink?: LogSink;
  /** Reload when configFile changes (default true with configFile). */
  readonly watch?: boolean;
  /** Run on uWS's pure-JS fallback when the native binary does not load. */
  readonly allowUwsFallback?: boolean;
  /** Override the ops listeners (`host:port`, or null to turn one off). */
  readonly adminAddr?: string | null;
  readonly statsAddr?: string | null;
  readonly readinessAddr?: string | null;
  /** Overrides `config.session.key` (processes of one deployment must share it). */
  readonly sessionKey?: string;
  /** Least time between two unknown-kid refetches of one remote JWKS (default 10 s). */
  readonly jwksCooldownMs?: number;
  /** How long an HTTP upstream may leave a call without its head, or its body without a chunk
   * (default 300 s each, undici's headersTimeout and bodyTimeout), and how long an idle upstream
   * connection stays open (default 4 s); the limits not given keep their defaults. */
  readonly upstreamIdleLimits?: Partial<UpstreamIdleLimits>;
  /** Overrides `config.upstreamClient`. */
  readonly upstreamClient?: UpstreamClient;
}

export interface Gateway {
  /** Bound port per bind name (`bind/9000` → 9000; a `port: 0` bind gets an ephemeral port). */
  readonly ports: ReadonlyMap<string, number>;
  /** The first bind's port. */
  readonly port: number;
  readonly opsPorts: Readonly<{ admin: number | null; stats: number | null; readiness: number | null }>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly workerMode: 'pool' | 'inline';
  /** Loads the config again (file or text). It applies whole or not at all: the old one stays
   * when the new one is bad or cannot be applied (a new bind's port taken). Never rejects. */
  reload(): Promise<ReloadResult>;
  /** Stops accepting, lets in-flight requests finish (up to drainMs), then frees everything. */
  close(options?: { drainMs?: number }): Promise<void>;
}

export class ConfigError extends GatewayError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super('GW_CONFIG_INVALID', `invalid configuration:\n${formatIssues([...issues])}`);
    this.issues = issues;
  }
}


type Env = Readonly<Record<string, string | undefined>>;

/** What a gateway owns for its whole life, closed by close() (or by a start that fails). */
interface Parts {
  readonly uws: FrontModule;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly upstream: UpstreamParts;
  readonly generations: Generations;
  readonly binds: Binds;
  readonly reloader: Reloader;
  readonly inflight: PipelineDeps['inflight'];
  /** false once close() has begun: new requests get 503, readiness says `drain` */
  readonly state: { accepting: boolean };
}

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const source = new ConfigSource({ config: options.config, file: options.configFile, text: options.configText, cwd, env });
  const first = source.load();
  if (!first.ok) throw new ConfigError(first.issues);
  const config = first.config;
  const metrics = new Metrics(version);
  const { uws, logger } = openFront(options, env, config, metrics);
  const upstream = upstreamParts(config, options.upstreamClient ?? config.runtime.upstreamClient, metrics, logger, options.upstreamIdleLimits);
  const sessions = createSessionCodec(options.sessionKey ?? config.runtime.sessionKey);
  const generations = new Generations({
    logger,
    metrics,
    workers: options.workers ?? config.runtime.workers,
    ...(options.signaturesOnLoop !== undefined ? { signaturesOnLoop: options.signaturesOnLoop } : {}),
    upstream,
    tracing: new TracingHost({ logger, version, env }),
    ...(options.jwksCooldownMs !== undefined ? { jwksCooldownMs: options.jwksCooldownMs } : {}),
  });
  await generations.start(config);
  logSignatureChecks(logger, generations.current.engine);
  const state = { accepting: true };
  const inflight: PipelineDeps['inflight'] = { count: 0, onIdle: null };
  // Read at start only, like the rest of `config:`.
  const buffers = new ByteBudget(config.runtime.bufferBudgetBytes);
  const deps: PipelineDeps = {
    current: () => generations.current,
    sessions,
    logger,
    metrics,
    version,
    legacy: new LegacySessions(),
    streamGate: new StreamGate(),
    accepting: () => state.accepting,
    inflight,
    buffers,
  };
  const binds = new Binds(uws, (bindName) => createRequestHandler(bindName, deps), logger);
  const reloader = new Reloader({ source, runtime: config.runtime, generations, binds, metrics, logger });
  const parts: Parts = { uws, logger, metrics, upstream, generations, binds, reloader, inflight, state };
  try {
    binds.adopt(await binds.openNew(config), config);
  } catch (err) {
    return abortStart(parts, err);
  }
  const ops = await startOps(parts, options, env, config);
  registerGatewayGauges(metrics, { current: () => generations.current, inflight, buffers });
  if (options.watch ?? true) {
    try {
      reloader.watch();
    } catch (err) {
      // A gateway that could not follow its file must not start as if it did, nor leave its
      // listeners open.
      try {
        await ops.close();
      } finally {
        await abortStart(parts, err);
      }
    }
  }
  // Last: a start that failed before would leave its sampling running.
  metrics.watchProcess();
  return gatewayOf(parts, ops);
}

function openFront(options: GatewayOptions, env: Env, config: GatewayConfig, metrics: Metrics): { uws: FrontModule; logger: Logger } {
  const loaded = loadUws(options.allowUwsFallback ?? env['PORTCULLIS_ALLOW_UWS_FALLBACK'] === '1');
  const logger = createLogger(options.logFormat ?? config.runtime.logFormat, options.logSink, {
    logging: config.runtime.logging,
    onCelError: (field) => metrics.accessLogErrors.inc({ field }),
  });
  if (loaded.native) logger.info('gateway', 'uWebSockets.js native front', [['from', loaded.source]]);
  else logger.warn('gateway', 'uWebSockets.js native binary did not load: running on its slow pure-JS fallback (opted in)');
  return { uws: loaded.module, logger };
}

/** Where token signatures are checked, and by what, said once at start. */
function logSignatureChecks(logger: Logger, engine: EngineRunner): void {
  if (!engine.signaturesOnLoop) logger.info('jwt', "token signatures checked on libuv's thread pool by node:crypto");
  else if (engine.rsaVerifier.native) {
    const arithmetic = engine.rsaVerifier.ifma ? 'AVX-512 IFMA for RS*, OpenSSL for PS*' : 'OpenSSL';
    logger.info('jwt', 'token signatures checked on the event loop, RSA by the native verifier', [['openssl', engine.rsaVerifier.detail], ['rsa_arithmetic', arithmetic]]);
  }
  else logger.info('jwt', 'token signatures checked on the event loop by node:crypto: the native RSA verifier is not in use', [['reason', engine.rsaVerifier.detail]]);
}

function upstreamParts(config: GatewayConfig, client: UpstreamClient, metrics: Metrics, logger: Logger, idleLimits: Partial<UpstreamIdleLimits> | undefined): UpstreamParts {
  return {
    pools: new HttpPools(client, idleLimits),
    channels: new ChannelHub((line) => logger.info('mcp::stdio', line)),
    // Read at start only, like the rest of `config:`.
    callerSlots: new CallerSlots(
      { calls: config.runtime.upstreamCallsPerCaller, streams: config.runtime.upstreamStreamsPerCaller },
      (_upstream, kind) => metrics.callerLimited.inc({ kind }),
    ),
  };
}

/** An ops listener's address. Precedence: options, then agentgateway's env variables
 * (ADMIN_ADDR, STATS_ADDR, READINESS_ADDR; an empty value turns the listener off), then the config. */
function opsAddr(option: string | null | undefined, fromEnv: string | undefined, configured: string | null): string | null {
  if (option !== undefined) return option;
  if (fromEnv !== undefined) return fromEnv === '' ? null : fromEnv;
  return configured;
}

async function startOps(parts: Parts, options: GatewayOptions, env: Env, config: GatewayConfig): Promise<OpsServers> {
  const { uws, metrics, logger, generations, state } = parts;
  const runtime = config.runtime;
  try {
    return await startOpsServers(uws, {
      admin: opsAddr(options.adminAddr, env['ADMIN_ADDR'], runtime.adminAddr),
      stats: opsAddr(options.statsAddr, env['STATS_ADDR'], runtime.statsAddr),
      readiness: opsAddr(options.readinessAddr, env['READINESS_ADDR'], runtime.readinessAddr),
      metrics,
      logger,
      configDump: () => generations.config,
      // Not ready while draining, nor at start while a remote key set has never loaded (every
      // token for its routes would get 401: a load balancer should send traffic elsewhere). Only
      // at start: once serving, a reload that adds a route whose IdP is down must not take every
      // replica out of the load balancer for its sake (that route answers 401 meanwhile).
      pending: () => {
        const keysPending = generations.keysPending();
        return [...(state.accepting ? [] : ['drain']), ...(keysPending ? ['jwks'] : [])];
      },
    });
  } catch (err) {
    return abortStart(parts, err);
  }
}

/** A start that fails once the binds may be open: frees what it took, so nothing outlives it. */
async function abortStart(parts: Parts, err: unknown): Promise<never> {
  parts.binds.dropAll();
  parts.generations.stopKeys();
  await parts.upstream.channels.closeAll();
  await parts.generations.close();
  await parts.upstream.pools.close();
  throw err;
}

function gatewayOf(parts: Parts, ops: OpsServers): Gateway {
  const { binds, generations } = parts;
  const startPorts = binds.ports();
  let closed: Promise<void> | null = null;
  return {
    get ports() {
      const now = binds.ports();
      return now.size === 0 ? startPorts : now;
    },
    get port() {
      // the live config's first bind (after close(), the one it had at start)
      const first = generations.config.binds[0];
      return (first === undefined ? undefined : binds.portOf(first.name)) ?? startPorts.values().next().value ?? 0;
    },
    opsPorts: ops.ports,
    logger: parts.logger,
    metrics: parts.metrics,
    workerMode: generations.current.engine.mode,
    reload: parts.reloader.reload,
    close: (closeOptions) => (closed ??= closeGateway(parts, ops, closeOptions?.drainMs ?? 10_000)),
  };
}

async function closeGateway(parts: Parts, ops: OpsServers, drainMs: number): Promise<void> {
  const { binds, generations, reloader, upstream } = parts;
  parts.state.accepting = false;
  reloader.close();
  binds.stopListening();
  await drained(parts.inflight, drainMs);
  binds.closeApps();
  await ops.close();
  generations.stopKeys();
  await upstream.channels.closeAll();
  // A reload in flight (maybe waiting on an IdP, up to its fetch timeout) gives up at its next
  // step; waited for so that its engine is closed below and nothing of it outlives close().
  await reloader.idle();
  await generations.close();
  await upstream.pools.close();
  parts.metrics.close();
  parts.logger.flush();
}

/** Resolves once no request is in flight, or after `ms`. */
function drained(inflight: PipelineDeps['inflight'], ms: number): Promise<void> {
  if (inflight.count === 0 || ms <= 0) return Promise.resolve();
  return new Promise<void>((done) => {
    const timer = setTimeout(done, ms);
    const prev = inflight.onIdle;
    inflight.onIdle = () => {
      prev?.();
      clearTimeout(timer);
      done();
    };
  });
}
