// Remote key sets of every provider in the config, shared by URL (two routes naming the same
// JWKS fetch it once). The registry hands out the current keys; when a set changes it tells the
// gateway, which builds the workers' next key data.

import type { GatewayConfig, JwtProviderConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { redactUrl } from '../log/redact.js';
import type { Metrics } from '../ops/metrics.js';
import type { PublicJwk } from '../../protocol/worker-contract.js';
import { insecureWarning, tlsDispatcher, tlsIdentity } from '../http/tls-client.js';
import { createRemoteJwks, type RefreshEvent, type RemoteJwks } from './remote-jwks.js';

/** One remote set per place and way of fetching it (two `tls` settings are two sets). */
function sourceKey(p: JwtProviderConfig): string | null {
  const s = p.jwksSource;
  if (s.kind === 'url') return `url ${s.url} ${tlsIdentity(s.tls)}`;
  if (s.kind === 'discovery') return `discovery ${p.issuer} ${tlsIdentity(s.tls)}`;
  return null;
}

function providersOf(cfg: GatewayConfig): JwtProviderConfig[] {
  const out: JwtProviderConfig[] = [];
  for (const b of cfg.binds) {
    for (const l of b.listeners) {
      for (const r of l.routes) {
        if (r.policies.jwtAuth !== null) out.push(...r.policies.jwtAuth.providers);
        const a = r.policies.mcpAuthentication;
        if (a !== null) out.push({ issuer: a.issuer, audiences: a.audiences, jwksSource: a.jwksSource, keys: a.keys });
      }
    }
  }
  return out;
}

export interface KeyRegistryOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** A remote set changed after start (rotation): rebuild the workers' key data. Resolves once
   * they run with keysOf's keys; a rejection leaves the change to be applied on a later refresh. */
  readonly onChange: () => Promise<void>;
  readonly timeoutMs?: number;
  readonly cooldownMs?: number;
}

export class KeyRegistry {
  readonly #remotes = new Map<string, RemoteJwks>();
  readonly #o: KeyRegistryOptions;

  constructor(o: KeyRegistryOptions) {
    this.#o = o;
  }

  #onRefresh = (remote: RemoteJwks, e: RefreshEvent): void => {
    const { logger, metrics } = this.#o;
    if (e.ok) {
      metrics.jwksRefreshes.inc({ result: 'ok', reason: e.reason });
      // At startup and on reload the caller builds fresh worker data itself.
      if (e.changed && e.reason !== 'startup' && e.reason !== 'reload') {
        logger.info('jwks', 'key set changed', [['url', redactUrl(e.url)], ['keys', e.keys], ['reason', e.reason]]);
        // The gateway logs a failure; the change stays unapplied, so the next refresh retries.
        this.#o.onChange().then(() => remote.markApplied(e.fingerprint), () => undefined);
      }
    } else {
      metrics.jwksRefreshes.inc({ result: 'error', reason: e.reason });
      logger.warn('jwks', 'JWKS refresh failed; keeping the last good keys', [['url', redactUrl(e.url)], ['reason', e.reason], ['error', e.error]]);
    }
  };

  /** Makes sure every remote source of `cfg` exists and has been fetched once (again, with
   * `refetch`, as a config reload does); drops unused ones. */
  async sync(cfg: GatewayConfig, refetch = false): Promise<void> {
    const wanted = new Map<string, JwtProviderConfig>();
    for (const p of providersOf(cfg)) {
      const key = sourceKey(p);
      if (key !== null) wanted.set(key, p);
    }
    const started: Array<Promise<void>> = [];
    for (const [key, p] of wanted) {
      const existing = this.#remotes.get(key);
      if (existing !== undefined) {
        if (refetch) started.push(existing.reload());
        continue;
      }
      const source = p.jwksSource;
      const tls = source.kind === 'url' || source.kind === 'discovery' ? source.tls : null;
      const dispatcher = tlsDispatcher(tls);
      const warning = insecureWarning(tls);
      const where = source.kind === 'url' ? redactUrl(source.url) : `${p.issuer} (discovery)`;
      if (warning !== null) this.#o.logger.warn('jwks', `jwks tls ${warning}`, [['url', where]]);
      const remote: RemoteJwks = createRemoteJwks({
        source: source.kind === 'url' ? { url: source.url } : { discoveryIssuer: p.issuer },
        ...(dispatcher === undefined ? {} : { dispatcher }),
        onRefresh: (e) => this.#onRefresh(remote, e),
        ...(this.#o.timeoutMs !== undefined ? { timeoutMs: this.#o.timeoutMs } : {}),
        ...(this.#o.cooldownMs !== undefined ? { cooldownMs: this.#o.cooldownMs } : {}),
      });
      this.#remotes.set(key, remote);
      started.push(remote.start());
    }
    for (const [key, remote] of this.#remotes) {
      if (!wanted.has(key)) {
        remote.close();
        this.#remotes.delete(key);
      }
    }
    await Promise.all(started);
  }

  keysOf = (p: JwtProviderConfig): readonly PublicJwk[] => {
    const key = sourceKey(p);
    return key === null ? p.keys : (this.#remotes.get(key)?.keys() ?? []);
  };

  #remotesOf(providers: readonly JwtProviderConfig[]): RemoteJwks[] {
    return providers.flatMap((p) => {
      const key = sourceKey(p);
      const r = key === null ? undefined : this.#remotes.get(key);
      return r === undefined ? [] : [r];
    });
  }

  /** Refetches the remote sets of these providers (debounced); true when one differs from the
   * keys last applied (its onChange is then under way). */
  async refreshForUnknownKid(providers: readonly JwtProviderConfig[]): Promise<boolean> {
    const changed = await Promise.all(this.#remotesOf(providers).map((r) => r.refreshForUnknownKid()));
    return changed.some(Boolean);
  }

  /** Remote sets that have never been fetched (their routes refuse every token). One that
   * loaded once keeps its last good keys through later failures and does not count. */
  neverLoaded(): number {
    let n = 0;
    for (const r of this.#remotes.values()) if (r.keys().length === 0 && r.lastError() !== null) n++;
    return n;
  }

  /** The refresh errors of these providers' remote sets, or null when all are healthy. */
  problem(providers: readonly JwtProviderConfig[]): string | null {
    const errors = this.#remotesOf(providers).flatMap((r) => {
      const e = r.lastError();
      return e === null ? [] : [e];
    });
    return errors.length === 0 ? null : errors.join('; ');
  }

  close(): void {
    for (const r of this.#remotes.values()) r.close();
    this.#remotes.clear();
  }
}
