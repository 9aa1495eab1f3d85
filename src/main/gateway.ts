// startGateway: the embeddable entry. No global state: every gateway owns its uWS apps, its
// decider (worker pool or inline), its upstream pools and its logger, so several can run in one
// process, and uWS listens with SO_REUSEPORT so several processes can share a port.

import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { FrontApp, FrontModule, ListenSocket } from './http/front.js';
import { loadConfigFile, loadConfigText, formatIssues } from './config/load.js';
import { fileSignature, watchConfigFile, type ConfigWatch } from './config/watch.js';
import type { ConfigIssue, GatewayConfig, LogFormat } from './config/types.js';
import { DeciderSet } from './decider/decider-set.js';
import { KeyRegistry } from './jwks/key-registry.js';
import { closeApp, loadUws } from './http/uws.js';
import { createLogger, type LogSink, type Logger } from './log/logger.js';
import { createSessionCodec } from './mcp/session-id.js';
import { ChannelHub } from './upstream/channels/channel-hub.js';
import { CallerSlots } from './upstream/caller-slots.js';
import { ChannelTransport, sseChannelSpec } from './upstream/channel-transport.js';
import { HttpPools } from './upstream/http-transport.js';
import { UpstreamTarget } from './upstream/target.js';
import { limiterFor, type RateLimiter } from './policy/rate-limit.js';
import { buildTargetPolicies, mergePolicies, type TargetPolicyHooks } from './upstream/target-policies.js';
import { LegacySessions } from './mcp/legacy-sse.js';
import { StreamGate } from './mcp/stream-gate.js';
import { ByteBudget } from './http/byte-budget.js';
import { Metrics } from './ops/metrics.js';
import { startOpsServers, type OpsServers } from './ops/ops-servers.js';
import { createRequestHandler, type Generation, type PipelineDeps } from './pipeline.js';
import { buildPlan, type RoutePlan } from './plan.js';
import { version } from './version.js';
import { createJwtAuthenticator, type JwtAuthenticator } from './policy/jwt-auth.js';

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
}

export type ReloadResult = { ok: true } | { ok: false; issues: readonly ConfigIssue[] };

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

export class ConfigError extends Error {
  readonly code = 'GW_CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(`invalid configuration:\n${formatIssues([...issues])}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export class ListenError extends Error {
  readonly code = 'GW_LISTEN_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function loadFromOptions(options: GatewayOptions, cwd: string, env: Readonly<Record<string, string | undefined>>) {
  if (options.config !== undefined) return { ok: true as const, config: options.config };
  if (options.configFile !== undefined) return loadConfigFile(resolve(cwd, options.configFile), { cwd, env });
  return loadConfigText(options.configText ?? '{}', { cwd, env });
}

interface Bound {
  readonly app: FrontApp;
  readonly socket: ListenSocket;
  readonly port: number;
}

function listen(uws: FrontModule, app: FrontApp, host: string | null, port: number): Promise<Bound> {
  return new Promise((resolveListen, reject) => {
    const done = (socket: ListenSocket | false): void => {
      if (socket === false) reject(new ListenError(`could not listen on ${host ?? '[::]'}:${port}`));
      else resolveListen({ app, socket, port: uws.us_socket_local_port(socket) });
    };
    if (host === null) app.listen(port, done);
    else app.listen(host, port, done);
  });
}

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const configPath = options.configFile === undefined ? null : resolve(cwd, options.configFile);
  // Taken before each read, so a change during the read still counts as a change.
  let loadedSignature = configPath === null ? null : fileSignature(configPath);
  const first = loadFromOptions(options, cwd, env);
  if (!first.ok) throw new ConfigError(first.issues);
  const config = first.config;
  const loaded = loadUws(options.allowUwsFallback ?? env['PORTCULLIS_ALLOW_UWS_FALLBACK'] === '1');
  const uws = loaded.module;
  const logFormat = options.logFormat ?? config.runtime.logFormat;
  const logger = createLogger(logFormat, options.logSink);
  if (loaded.native) logger.info('gateway', 'uWebSockets.js native front', [['from', loaded.source]]);
  else logger.warn('gateway', 'uWebSockets.js native binary did not load: running on its slow pure-JS fallback (opted in)');
  const workers = options.workers ?? config.runtime.workers;
  const metrics = new Metrics();
  const upstreams = new HttpPools();
  const sessions = createSessionCodec(options.sessionKey ?? config.runtime.sessionKey);
  const channels = new ChannelHub((line) => logger.info('mcp::stdio', line));
  // Read at start only, like the rest of `config:`.
  const callerSlots = new CallerSlots(
    { calls: config.runtime.upstreamCallsPerCaller, streams: config.runtime.upstreamStreamsPerCaller },
    (_upstream, kind) => metrics.callerLimited.inc({ kind }),
  );
  let generationNumber = 0;
  const deciders = new DeciderSet(workers, metrics.listCache, (err) =>
    logger.warn('gateway', 'closing an old worker pool failed', [['error', String(err)]]),
  );
  // A remote key set changed: the workers get the next key data (a new decider for the same
  // generation), and cached tokens signed by keys that left are dropped.
  let rekeying: Promise<void> = Promise.resolve();
  const keys = new KeyRegistry({
    logger,
    metrics,
    ...(options.jwksCooldownMs !== undefined ? { cooldownMs: options.jwksCooldownMs } : {}),
    onChange: () => {
      const applied = rekeying.then(rekey);
      rekeying = applied.catch((err: unknown) => logger.error('jwks', `applying new keys failed: ${String(err)}`));
      return applied;
    },
  });

  async function rekey(): Promise<void> {
    let gen = current;
    let init = buildPlan(currentConfig, gen.number, keys.keysOf).init;
    let next = await deciders.create(init);
    while (gen !== current) {
      // A reload replaced the generation meanwhile, maybe built before the keys changed: the new
      // keys go to the new generation, and this decider is never used.
      void deciders.retire(next);
      gen = current;
      init = buildPlan(currentConfig, gen.number, keys.keysOf).init;
      next = await deciders.create(init);
    }
    const old = gen.deciderRef.current;
    gen.deciderRef.current = next;
    // Requests holding the old one finish on it; its pool stops once its running tasks have.
    void deciders.retire(old);
    for (const a of gen.authenticators.values()) a.keysChanged(init);
  }

  /** every remote key set of the start has loaded at least once (readiness) */
  let keysLoadedOnce = false;
  function latchKeysLoaded(): void {
    keysLoadedOnce ||= keys.neverLoaded() === 0;
  }

  /** What a target's policies report to: metrics, and the log for refusals (never a token). */
  function targetHooks(route: string, target: string): TargetPolicyHooks {
    return {
      sourceDeps: { cacheCounts: metrics.backendTokenCache },
      onCredential: (outcome) => metrics.backendAuth.inc({ route, target, outcome }),
      onRefusal: (refusal) => {
        metrics.backendAuth.inc({ route, target, outcome: refusal.outcome });
        logger.warn('upstream', 'backend authentication failed', [['route', route], ['target', target], ['outcome', refusal.outcome], ['detail', refusal.detail]]);
      },
      onTransformError: (header) => metrics.transformErrors.inc({ route, target, header }),
    };
  }

  async function buildGeneration(cfg: GatewayConfig, reloading: boolean): Promise<Generation> {
    // Readiness waits for the key sets of the start only: note whether they have loaded before
    // a reload adds sets of its own (a probe may not have come by since).
    if (reloading) latchKeysLoaded();
    await keys.sync(cfg, reloading);
    generationNumber++;
    const plan = buildPlan(cfg, generationNumber, keys.keysOf);
    const deciderRef = { current: await deciders.create(plan.init) };
    const authenticators = new Map<RoutePlan, JwtAuthenticator>();
    const targets = new Map<RoutePlan, readonly UpstreamTarget[]>();
    const limiters = new Map<string, RateLimiter>();
    // A reload keeps the buckets of a rate limit whose spec it does not change.
    const previousLimiters = reloading ? current.limiters : undefined;
    for (const bind of plan.binds) {
      for (const listener of bind.listeners) {
        for (const route of listener.routes) {
          const jwt = route.jwt;
          if (jwt !== null) {
            authenticators.set(route, createJwtAuthenticator({
              mode: jwt.mode,
              providerSet: jwt.providerSet,
              decider: () => deciderRef.current,
              counters: { count: (outcome) => metrics.jwt.inc({ outcome }) },
              cacheCounts: metrics.tokenCache,
              onUnknownKid: async () => {
                const changed = await keys.refreshForUnknownKid(jwt.providers);
                if (changed) await rekeying;
                return changed;
              },
              keysProblem: () => keys.problem(jwt.providers),
            }));
          }
          if (route.localRateLimit !== null) limiters.set(route.sessionScope, limiterFor(previousLimiters, route.sessionScope, route.localRateLimit));
          if (route.backend !== null) {
            const backend = route.backend;
            targets.set(route, backend.targets.map((t) => {
              const merged = mergePolicies(route.upstreamPolicies, backend.policies, t.kind === 'stdio' ? null : t.policies);
              const tls = merged.backendTls;
              if (tls !== null && (tls.insecure || tls.insecureHost)) {
                logger.warn('upstream', `backendTLS ${tls.insecure ? 'insecure: certificates are not verified' : 'insecureHost: the name in the certificate is not verified'}`, [['route', route.name], ['target', t.name]]);
              }
              const transport =
                t.kind === 'stdio'
                  ? new ChannelTransport(t.name, { kind: 'stdio', cmd: t.cmd, args: t.args, env: t.env }, channels)
                  : t.kind === 'sse'
                    ? new ChannelTransport(t.name, sseChannelSpec(t.url, merged.backendTls), channels)
                    : upstreams.transport(t.url, merged.backendTls);
              return new UpstreamTarget(t.name, transport, callerSlots, buildTargetPolicies(merged, route.retry, targetHooks(route.name, t.name)));
            }));
          }
        }
      }
    }
    return {
      number: generationNumber,
      deciderRef,
      get decider() {
        return deciderRef.current;
      },
      binds: new Map(plan.binds.map((b) => [b.name, b])),
      authenticators,
      targets,
      limiters,
      allowAllRuleSet: plan.allowAllRuleSet,
      // A reload keeps the start's `config:` block (applyReload), so this stays within the buffer
      // budget sized against it at start.
      maxBodyBytes: cfg.runtime.maxBodyBytes,
    };
  }

  let currentConfig = config;
  let current = await buildGeneration(config, false);
  let accepting = true;
  const inflight: PipelineDeps['inflight'] = { count: 0, onIdle: null };
  // Read at start only, like the rest of `config:`.
  const buffers = new ByteBudget(config.runtime.bufferBudgetBytes);
  const deps: PipelineDeps = {
    current: () => current,
    sessions,
    logger,
    metrics,
    version,
    legacy: new LegacySessions(),
    streamGate: new StreamGate(),
    accepting: () => accepting,
    inflight,
    buffers,
  };
  const bound = new Map<string, Bound>();
  const apps: FrontApp[] = [];

  /** Listens on the binds of `cfg` not bound yet; on a failure closes those it opened and throws. */
  async function openNewBinds(cfg: GatewayConfig): Promise<Map<string, Bound>> {
    const opened = new Map<string, Bound>();
    for (const bind of cfg.binds) {
      if (bound.has(bind.name)) continue;
      const app = uws.App();
      app.any('/*', createRequestHandler(bind.name, deps));
      try {
        opened.set(bind.name, await listen(uws, app, null, bind.port));
      } catch (err) {
        closeApp(app);
        dropBinds(opened);
        throw err;
      }
    }
    return opened;
  }

  function dropBinds(opened: ReadonlyMap<string, Bound>): void {
    for (const b of opened.values()) {
      uws.us_listen_socket_close(b.socket);
      closeApp(b.app);
    }
  }

  /** Makes the opened binds live and stops listening on those `cfg` no longer has. */
  function adoptBinds(opened: ReadonlyMap<string, Bound>, cfg: GatewayConfig): void {
    for (const [name, b] of opened) {
      bound.set(name, b);
      apps.push(b.app);
      logger.info('proxy::gateway', 'started bind', [['bind', name], ['port', b.port]]);
    }
    for (const [name, b] of bound) {
      if (!cfg.binds.some((x) => x.name === name)) {
        uws.us_listen_socket_close(b.socket);
        bound.delete(name);
        logger.info('proxy::gateway', 'stopped bind', [['bind', name]]);
      }
    }
  }

  /** A start that fails once the binds may be open: frees what it took, so nothing outlives it. */
  async function abortStart(err: unknown): Promise<never> {
    dropBinds(bound);
    bound.clear();
    keys.close();
    await channels.closeAll();
    await deciders.closeAll();
    await upstreams.close();
    throw err;
  }

  try {
    adoptBinds(await openNewBinds(config), config);
  } catch (err) {
    return abortStart(err);
  }

  // Precedence: options, then agentgateway's env variables (ADMIN_ADDR, STATS_ADDR,
  // READINESS_ADDR; an empty value turns the listener off), then the config.
  const opsAddr = (option: string | null | undefined, envName: string, configured: string | null): string | null => {
    if (option !== undefined) return option;
    const fromEnv = env[envName];
    if (fromEnv !== undefined) return fromEnv === '' ? null : fromEnv;
    return configured;
  };
  let ops: OpsServers;
  try {
    ops = await startOpsServers(uws, {
      admin: opsAddr(options.adminAddr, 'ADMIN_ADDR', config.runtime.adminAddr),
      stats: opsAddr(options.statsAddr, 'STATS_ADDR', config.runtime.statsAddr),
      readiness: opsAddr(options.readinessAddr, 'READINESS_ADDR', config.runtime.readinessAddr),
      metrics,
      logger,
      configDump: () => currentConfig,
      // Not ready while draining, nor at start while a remote key set has never loaded (every
      // token for its routes would get 401: a load balancer should send traffic elsewhere). Only
      // at start: once serving, a reload that adds a route whose IdP is down must not take every
      // replica out of the load balancer for its sake (that route answers 401 meanwhile).
      pending: () => {
        latchKeysLoaded();
        return [...(accepting ? [] : ['drain']), ...(keysLoadedOnce ? [] : ['jwks'])];
      },
    });
  } catch (err) {
    return abortStart(err);
  }
  metrics.gauge('portcullis_inflight_requests', 'Requests being served', () => inflight.count);
  metrics.gauge('portcullis_worker_queue', 'Tasks waiting for a worker thread', () => current.decider.queueSize());
  metrics.gauge('portcullis_token_cache_entries', 'Verified tokens held (every route, current config)', () => {
    let n = 0;
    for (const a of current.authenticators.values()) n += a.cache.size;
    return n;
  });
  metrics.gauge('portcullis_buffered_bytes', 'Bytes held for requests in flight: bodies, answers held whole (config.bufferBudgetBytes bounds them)', () => buffers.held);
  metrics.counterOf('portcullis_buffer_budget_refusals_total', 'Requests refused (503) or answers relayed unheld because config.bufferBudgetBytes was reached', () => buffers.refused);
  metrics.gauge('portcullis_rate_limit_keys', 'Buckets localRateLimit keeps (one per key of a keyed spec; bounded per spec)', () => {
    let n = 0;
    for (const l of current.limiters.values()) n += l.keys;
    return n;
  });
  metrics.gauge('portcullis_list_cache_chars', 'Characters of filtered list results held (config.listCacheBytes bounds them)', () => current.decider.listCacheChars());

  function reloadFailed(issues: readonly ConfigIssue[]): ReloadResult {
    metrics.reloads.inc({ result: 'error' });
    logger.error('state_manager', `Failed to reload config: ${formatIssues([...issues]).replace(/\n/g, '; ')}`);
    return { ok: false, issues };
  }

  // A build syncs the key registry to its config; until it is installed the registry is off the
  // live config, and a reload that ends without installing one puts it back.
  let keysOffLive = false;

  /** Back to the live config's remote key sets. The build's refetch of shared sets told nobody
   * of new keys (a reload builds fresh key data itself), so the live generation gets them now. */
  async function restoreKeys(): Promise<void> {
    keysOffLive = false;
    await keys.sync(currentConfig);
    if (closing) return;
    rekeying = rekeying.then(rekey).catch((err: unknown) => logger.error('jwks', `applying new keys failed: ${String(err)}`));
    await rekeying;
  }

  async function failed(issues: readonly ConfigIssue[]): Promise<ReloadResult> {
    // After close() the registry is closed: syncing it again would start new fetches and timers.
    if (keysOffLive && !closing) await restoreKeys();
    return reloadFailed(issues);
  }

  // One reload at a time, each reading the file when it starts, so the newest file is the one
  // that stays; calls while one waits to start share it (it will read what they would).
  let reloadsAsked = 0;
  let reloadQueue: Promise<unknown> = Promise.resolve();
  let waiting: Promise<ReloadResult> | null = null;
  let newest: Promise<ReloadResult> = Promise.resolve({ ok: true });

  // Once close() has begun, no reload applies: it would listen again on the closed binds.
  let closing = false;
  const closedResult: ReloadResult = { ok: false, issues: [{ path: '<gateway>', message: 'the gateway is closing' }] };

  function abandoned(built: Generation | null, opened: ReadonlyMap<string, Bound> | null): ReloadResult {
    if (built !== null) void deciders.retire(built.decider);
    if (opened !== null) dropBinds(opened);
    logger.info('state_manager', 'Config reload abandoned: the gateway is closing');
    return closedResult;
  }

  function reload(): Promise<ReloadResult> {
    if (closing) return Promise.resolve(closedResult);
    if (waiting !== null) return waiting;
    const ticket = ++reloadsAsked;
    const run = reloadQueue.then(() => {
      waiting = null;
      return applyReload(ticket);
    });
    reloadQueue = run.catch(() => undefined);
    // A run that a newer one superseded answers with the newer one's outcome.
    const result = run.then((r) => r ?? newest);
    waiting = result;
    newest = result;
    return result;
  }

  /** null: a newer reload was asked for while this one built; that one applies instead. */
  async function applyReload(ticket: number): Promise<ReloadResult | null> {
    // Queued behind a run that was in flight when close() began.
    if (closing) return closedResult;
    if (configPath !== null) loadedSignature = fileSignature(configPath);
    const loaded = options.configFile !== undefined || options.configText !== undefined ? loadFromOptions(options, cwd, env) : { ok: true as const, config: currentConfig };
    if (!loaded.ok) return failed(loaded.issues);
    // `config:` is read at start only (agentgateway reads it once): the new file's block is kept
    // out of what applies, and out of config_dump, which shows what is in effect.
    if (!isDeepStrictEqual(loaded.config.runtime, config.runtime)) {
      logger.warn('state_manager', 'The config: block changed; its settings are read at start only and take effect after a restart');
    }
    const next = { config: { ...loaded.config, runtime: config.runtime } };
    keysOffLive = true;
    let built: Generation;
    try {
      built = await buildGeneration(next.config, true);
    } catch (err) {
      return failed([{ path: '<config>', message: `could not apply config: ${errorText(err)}` }]);
    }
    if (closing) return abandoned(built, null);
    if (ticket !== reloadsAsked) {
      // Its file is older than what the next run will read: installing it would only flap.
      void deciders.retire(built.decider);
      logger.info('state_manager', 'Config file changed again while reloading; applying the newer one');
      return null;
    }
    // New binds listen before anything is swapped, so a taken port leaves the old config whole.
    let opened: Map<string, Bound>;
    try {
      opened = await openNewBinds(next.config);
    } catch (err) {
      void deciders.retire(built.decider);
      return failed([{ path: 'binds', message: errorText(err) }]);
    }
    if (closing) return abandoned(built, opened);
    // No await from here on: a request sees the old config or the new one, never a mix.
    const previous = current;
    current = built;
    currentConfig = next.config;
    keysOffLive = false;
    adoptBinds(opened, next.config);
    // Requests in flight keep the previous generation: its pool finishes the tasks it has, then
    // stops, and what they ask of it later runs on the main thread.
    void deciders.retire(previous.decider);
    metrics.reloads.inc({ result: 'ok' });
    logger.info('state_manager', 'Config reloaded successfully');
    return { ok: true };
  }

  let watcher: ConfigWatch | null = null;
  if (configPath !== null && (options.watch ?? true)) {
    try {
      watcher = watchConfigFile(configPath, {
        loaded: () => loadedSignature,
        onChange: () => {
          logger.info('state_manager', 'Config file changed, reloading...');
          reload().catch((err: unknown) => logger.error('state_manager', `Failed to reload config: ${String(err)}`));
        },
      });
    } catch (err) {
      // The directory gone since it was read, or no inotify watch left (ENOSPC): a gateway that
      // could not follow its file must not start as if it did, nor leave its listeners open.
      const failure = new Error(`cannot watch the config file ${configPath}: ${errorText(err)}`);
      try {
        await ops.close();
      } finally {
        await abortStart(failure);
      }
    }
    logger.info('state_manager', `Watching config file: ${options.configFile ?? configPath}`);
  }

  let closed: Promise<void> | null = null;
  async function close(closeOptions?: { drainMs?: number }): Promise<void> {
    closed ??= (async () => {
      accepting = false;
      closing = true;
      watcher?.close();
      for (const b of bound.values()) uws.us_listen_socket_close(b.socket);
      bound.clear();
      const drainMs = closeOptions?.drainMs ?? 10_000;
      if (inflight.count > 0 && drainMs > 0) {
        await new Promise<void>((done) => {
          const timer = setTimeout(done, drainMs);
          const prev = inflight.onIdle;
          inflight.onIdle = () => {
            prev?.();
            clearTimeout(timer);
            done();
          };
        });
      }
      // Idle keep-alive connections would keep an embedding process alive: close every socket.
      for (const app of apps) closeApp(app);
      await ops.close();
      keys.close();
      await channels.closeAll();
      // A reload in flight (maybe waiting on an IdP, up to its fetch timeout) gives up at its next
      // step; waited for so that its decider is closed below and nothing of it outlives close().
      await reloadQueue;
      await rekeying;
      await deciders.closeAll();
      await upstreams.close();
      logger.flush();
    })();
    return closed;
  }

  const ports = new Map<string, number>();
  for (const [name, b] of bound) ports.set(name, b.port);
  return {
    get ports() {
      const out = new Map<string, number>();
      for (const [name, b] of bound) out.set(name, b.port);
      return out.size === 0 ? ports : out;
    },
    get port() {
      // the live config's first bind (after close(), the one it had at start)
      const first = currentConfig.binds[0];
      return (first === undefined ? undefined : bound.get(first.name)?.port) ?? ports.values().next().value ?? 0;
    },
    opsPorts: ops.ports,
    logger,
    metrics,
    workerMode: current.decider.mode,
    reload,
    close,
  };
}
