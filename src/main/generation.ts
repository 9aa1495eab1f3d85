// Config generations: everything built from one config (plan, policy engine, authenticators,
// upstream targets), swapped as a whole on reload. Generations holds the live one, builds the
// next, and rekeys the live one when a remote key set changes (a new engine for the same
// generation).

import type { BackendPolicies, GatewayConfig } from './config/types.js';
import { insecureWarning } from './http/tls-client.js';
import { KeyRegistry } from './jwks/key-registry.js';
import type { Logger } from './log/logger.js';
import { routeLabelsOf, type Metrics } from './ops/metrics.js';
import { buildPlan, type BindPlan, type RoutePlan } from './plan.js';
import { Authorization } from './policy/authorization.js';
import { createJwtAuthenticator, type JwtAuthenticator } from './policy/jwt-auth.js';
import { limiterFor, type RateLimiter } from './policy/rate-limit.js';
import type { EngineRunner } from './policy-engine/runner.js';
import { EngineRunners } from './policy-engine/runners.js';
import type { CallerSlots } from './upstream/caller-slots.js';
import { ChannelTransport, sseChannelSpec } from './upstream/channel-transport.js';
import type { ChannelHub } from './upstream/channels/channel-hub.js';
import type { HttpPools } from './upstream/http-transport.js';
import { UpstreamTarget } from './upstream/target.js';
import { buildTargetPolicies, mergePolicies, type TargetPolicyHooks } from './upstream/target-policies.js';
import type { TracingHost } from './telemetry/tracing-host.js';
import type { RequestTracer } from './telemetry/tracing.js';

/** Everything built from one config generation. Swapped as a whole on reload. */
export interface Generation {
  readonly number: number;
  /** the current policy engine; replaced (same generation) when a remote key set changes */
  readonly engineRef: { current: EngineRunner };
  readonly engine: EngineRunner;
  readonly authorization: Authorization;
  readonly binds: ReadonlyMap<string, BindPlan>;
  readonly authenticators: ReadonlyMap<RoutePlan, JwtAuthenticator>;
  readonly targets: ReadonlyMap<RoutePlan, readonly UpstreamTarget[]>;
  /** each route's `localRateLimit`, by its session scope (kept across reloads that keep it) */
  readonly limiters: ReadonlyMap<string, RateLimiter>;
  readonly maxBodyBytes: number;
  /** null when tracing is off */
  readonly tracer: RequestTracer | null;
}

/** What the gateway owns for the whole of its life and every generation's targets share. */
export interface UpstreamParts {
  readonly pools: HttpPools;
  readonly channels: ChannelHub;
  readonly callerSlots: CallerSlots;
}

export interface GenerationsOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly workers: number;
  /** where token signatures are checked (default: `signaturesOnLoop()`) */
  readonly signaturesOnLoop?: boolean;
  readonly upstream: UpstreamParts;
  /** the gateway's tracers, one per tracing policy in use */
  readonly tracing: TracingHost;
  /** Least time between two unknown-kid refetches of one remote JWKS. */
  readonly jwksCooldownMs?: number;
}

interface Live {
  readonly generation: Generation;
  readonly config: GatewayConfig;
}

export class Generations {
  readonly #o: GenerationsOptions;
  readonly #keys: KeyRegistry;
  readonly #engines: EngineRunners;
  #number = 0;
  #live: Live | null = null;
  /** the rekey under way, if any (never rejects) */
  #rekeying: Promise<void> = Promise.resolve();
  /** every remote key set of the start has loaded at least once (readiness) */
  #keysLoadedOnce = false;

  constructor(o: GenerationsOptions) {
    this.#o = o;
    const { logger, metrics } = o;
    this.#engines = new EngineRunners(
      o.workers,
      metrics.listCache,
      (err) => logger.warn('gateway', 'closing an old worker pool failed', [['error', String(err)]]),
      o.signaturesOnLoop,
    );
    this.#keys = new KeyRegistry({
      logger,
      metrics,
      ...(o.jwksCooldownMs !== undefined ? { cooldownMs: o.jwksCooldownMs } : {}),
      onChange: () => {
        const applied = this.#rekeying.then(() => this.#rekey());
        this.#rekeying = applied.catch((err: unknown) => this.#rekeyFailed(err));
        return applied;
      },
    });
  }

  /** Builds the first generation and makes it live. */
  async start(config: GatewayConfig): Promise<void> {
    this.#goLive(await this.build(config, false), config);
  }

  /** The live one, and the metrics' labels following its routes. */
  #goLive(generation: Generation, config: GatewayConfig): void {
    this.#live = { generation, config };
    const routes = [...generation.binds.values()].flatMap((b) => b.listeners.flatMap((l) => l.routes));
    this.#o.metrics.setRoutes(routeLabelsOf(routes.map((r) => ({ name: r.name, toolNames: r.toolNames, targets: r.backend?.targets.map((t) => t.name) ?? [] }))));
  }

  get current(): Generation {
    return this.#liveOne().generation;
  }

  /** The config the live generation was built from. */
  get config(): GatewayConfig {
    return this.#liveOne().config;
  }

  #liveOne(): Live {
    if (this.#live === null) throw new Error('no config generation is live yet');
    return this.#live;
  }

  /** Builds a generation from `cfg`, syncing the key registry to it (refetching every remote
   * set when `reloading`); the caller installs it or discards it. */
  async build(cfg: GatewayConfig, reloading: boolean): Promise<Generation> {
    // Readiness waits for the key sets of the start only: note whether they have loaded before
    // a reload adds sets of its own (a probe may not have come by since).
    if (reloading) this.#latchKeysLoaded();
    await this.#keys.sync(cfg, reloading);
    this.#number++;
    const plan = buildPlan(cfg, this.#number, this.#keys.keysOf);
    // frontendPolicies.tracing, else the deprecated config.tracing (the load refuses both).
    const tracer = await this.#o.tracing.tracerFor(cfg.tracing ?? cfg.runtime.tracing);
    const engineRef = { current: await this.#engines.create(plan.init) };
    const authenticators = new Map<RoutePlan, JwtAuthenticator>();
    const targets = new Map<RoutePlan, readonly UpstreamTarget[]>();
    const limiters = new Map<string, RateLimiter>();
    // A reload keeps the buckets of a rate limit whose spec it does not change.
    const previousLimiters = reloading ? this.current.limiters : undefined;
    for (const bind of plan.binds) {
      for (const listener of bind.listeners) {
        for (const route of listener.routes) {
          const authenticator = this.#authenticator(route, engineRef);
          if (authenticator !== null) authenticators.set(route, authenticator);
          if (route.localRateLimit !== null) limiters.set(route.sessionScope, limiterFor(previousLimiters, route.sessionScope, route.localRateLimit));
          if (route.backend !== null) targets.set(route, this.#targets(route, route.backend));
        }
      }
    }
    return {
      number: this.#number,
      engineRef,
      get engine() {
        return engineRef.current;
      },
      authorization: new Authorization(() => engineRef.current, plan.allowAllRuleSet, (n) => this.#o.metrics.ruleErrors.inc({}, n)),
      binds: new Map(plan.binds.map((b) => [b.name, b])),
      authenticators,
      targets,
      limiters,
      // A reload keeps the start's `config:` block, so this stays within the buffer budget sized
      // against it at start.
      maxBodyBytes: cfg.runtime.maxBodyBytes,
      tracer,
    };
  }

  #authenticator(route: RoutePlan, engineRef: { readonly current: EngineRunner }): JwtAuthenticator | null {
    const jwt = route.jwt;
    if (jwt === null) return null;
    const { metrics } = this.#o;
    return createJwtAuthenticator({
      mode: jwt.mode,
      providerSet: jwt.providerSet,
      engine: () => engineRef.current,
      counters: { count: (outcome) => metrics.jwt.inc({ outcome }) },
      cacheCounts: metrics.tokenCache,
      onUnknownKid: async () => {
        const changed = await this.#keys.refreshForUnknownKid(jwt.providers);
        if (changed) await this.#rekeying;
        return changed;
      },
      keysProblem: () => this.#keys.problem(jwt.providers),
    });
  }

  #targets(route: RoutePlan, backend: NonNullable<RoutePlan['backend']>): UpstreamTarget[] {
    const { pools, channels, callerSlots } = this.#o.upstream;
    return backend.targets.map((t) => {
      const merged = mergePolicies(route.upstreamPolicies, backend.policies, t.kind === 'stdio' ? null : t.policies);
      this.#warnInsecure(merged, route.name, t.name);
      const transport =
        t.kind === 'stdio'
          ? new ChannelTransport(t.name, { kind: 'stdio', cmd: t.cmd, args: t.args, env: t.env }, channels)
          : t.kind === 'sse'
            ? new ChannelTransport(t.name, sseChannelSpec(t.url, merged.backendTls), channels)
            : pools.transport(t.url, merged.backendTls, merged.http?.pipelining ?? null);
      return new UpstreamTarget(t.name, transport, callerSlots, buildTargetPolicies(merged, route.retry, this.#targetHooks(route.name, t.name)));
    });
  }

  /** backendTLS that skips checks, the target's own or its token endpoints', is said at start. */
  #warnInsecure(merged: BackendPolicies, route: string, target: string): void {
    const auth = merged.backendAuth;
    const endpoints =
      auth?.kind === 'oauthTokenExchange' ? [auth.exchange.endpoint]
      : auth?.kind === 'crossAppAccess' ? [auth.crossApp.identityProvider.endpoint, auth.crossApp.resourceAuthorizationServer.endpoint]
      : [];
    const warnings = [insecureWarning(merged.backendTls), ...endpoints.map((e) => insecureWarning(e.tls))];
    warnings.forEach((warning, i) => {
      if (warning !== null) this.#o.logger.warn('upstream', `${i === 0 ? 'backendTLS' : 'token endpoint backendTLS'} ${warning}`, [['route', route], ['target', target]]);
    });
  }

  /** What a target's policies report to: metrics, and the log for refusals (never a token). */
  #targetHooks(route: string, target: string): TargetPolicyHooks {
    const { metrics, logger } = this.#o;
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

  /** Makes `built` (from `cfg`) the live generation. Requests in flight keep the previous one:
   * its pool finishes the tasks it has, then stops, and what they ask of it later runs on the
   * main thread. */
  install(built: Generation, cfg: GatewayConfig): void {
    const previous = this.#live;
    this.#goLive(built, cfg);
    this.#o.tracing.installed(built.tracer);
    if (previous !== null) void this.#engines.retire(previous.generation.engine);
  }

  /** A generation built and never installed. */
  discard(built: Generation): void {
    void this.#engines.retire(built.engine);
  }

  /** The key registry back on the live config's remote sets (after a build that was not
   * installed). The build's refetch of shared sets told nobody of new keys (a build makes fresh
   * key data itself), so unless `closing` by then, the live generation gets them now. */
  async restoreKeys(closing: () => boolean): Promise<void> {
    await this.#keys.sync(this.config);
    if (closing()) return;
    this.#rekeying = this.#rekeying.then(() => this.#rekey()).catch((err: unknown) => this.#rekeyFailed(err));
    await this.#rekeying;
  }

  /** A remote key set changed: the engine gets the next key data (a new one for the same
   * generation), and cached tokens signed by keys that left are dropped. */
  async #rekey(): Promise<void> {
    let live = this.#liveOne();
    let init = buildPlan(live.config, live.generation.number, this.#keys.keysOf).init;
    let next = await this.#engines.create(init);
    while (live !== this.#live) {
      // A reload replaced the generation meanwhile, maybe built before the keys changed: the new
      // keys go to the new generation, and this engine is never used.
      void this.#engines.retire(next);
      live = this.#liveOne();
      init = buildPlan(live.config, live.generation.number, this.#keys.keysOf).init;
      next = await this.#engines.create(init);
    }
    const gen = live.generation;
    const old = gen.engineRef.current;
    gen.engineRef.current = next;
    // Requests holding the old one finish on it; its pool stops once its running tasks have.
    void this.#engines.retire(old);
    for (const a of gen.authenticators.values()) a.keysChanged(init);
  }

  #rekeyFailed(err: unknown): void {
    this.#o.logger.error('jwks', `applying new keys failed: ${String(err)}`);
  }

  #latchKeysLoaded(): void {
    this.#keysLoadedOnce ||= this.#keys.neverLoaded() === 0;
  }

  /** Whether a remote key set of the start has never loaded (readiness waits for them). */
  keysPending(): boolean {
    this.#latchKeysLoaded();
    return !this.#keysLoadedOnce;
  }

  /** No more key refreshes (nor rekeys from them). */
  stopKeys(): void {
    this.#keys.close();
  }

  /** Waits for a rekey under way, then closes every engine, current and retired: no worker
   * thread outlives this. */
  async close(): Promise<void> {
    await this.#rekeying;
    await this.#engines.closeAll();
    // What the last requests traced is exported before close() resolves.
    await this.#o.tracing.close();
  }
}
