// `localRateLimit`: token buckets (agentgateway's semantics: a bucket starts full at maxTokens,
// gains tokensPerFill every fillInterval up to maxTokens, a request costs one). agentgateway has
// one bucket per policy, shared by every client; a Portcullis spec may add `key`, CEL giving each
// key (`jwt.sub`, `mcp.tool.name`, `jwt.sub + "/" + mcp.tool.name`) its own bucket, the keys
// bounded (least recently used dropped) so a client inventing keys cannot grow memory.

import { compileCel } from '../../protocol/cel-environment.js';
import { celVars, type CelVars } from '../../protocol/cel-values.js';
import type { CelContext } from '../../protocol/worker-contract.js';
import type { LocalRateLimitPolicy, RateLimitSpec } from '../config/types.js';

/** Buckets one keyed spec keeps at most. */
export const maxKeysPerSpec = 10_000;

export interface RateLimitState {
  readonly limit: number;
  readonly remaining: number;
  /** whole seconds until the next refill */
  readonly reset: number;
}

export type RateDecision =
  | { readonly allowed: true; readonly state: RateLimitState | null }
  | { readonly allowed: false; readonly state: RateLimitState };

class Bucket {
  tokens: number;
  /** when the tokens were last brought up to date, ms */
  at: number;
  constructor(full: number, now: number) {
    this.tokens = full;
    this.at = now;
  }
}

type Program = (vars: CelVars) => unknown;

function program(expr: string | null): Program | null {
  if (expr === null) return null;
  const compiled = compileCel(expr);
  return (vars) => compiled(vars);
}

/** One spec's buckets (one, or one per key). */
class SpecBuckets {
  readonly spec: RateLimitSpec;
  readonly #key: Program | null;
  readonly #condition: Program | null;
  readonly #buckets = new Map<string, Bucket>();

  constructor(spec: RateLimitSpec) {
    this.spec = spec;
    this.#key = program(spec.key);
    this.#condition = program(spec.condition);
  }

  get keys(): number {
    return this.#buckets.size;
  }

  applies(vars: () => CelVars): boolean {
    if (this.#condition === null) return true;
    try {
      return this.#condition(vars()) === true;
    } catch {
      return false;
    }
  }

  /** The request's bucket; null when its key cannot be had (the spec does not apply). */
  bucket(vars: () => CelVars, now: number): Bucket | null {
    let key = '';
    if (this.#key !== null) {
      let value: unknown;
      try {
        value = this.#key(vars());
      } catch {
        return null;
      }
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint' && typeof value !== 'boolean') return null;
      key = String(value);
    }
    let b = this.#buckets.get(key);
    if (b === undefined) {
      b = new Bucket(this.spec.maxTokens, now);
      if (this.#buckets.size >= maxKeysPerSpec) {
        const oldest = this.#buckets.keys().next();
        if (oldest.done !== true) this.#buckets.delete(oldest.value);
      }
    } else this.#buckets.delete(key); // re-inserted below: Map order is recency order
    this.#buckets.set(key, b);
    return b;
  }

  /** Brings `b` up to `now`, then takes a token if there is one. */
  take(b: Bucket, now: number): { readonly taken: boolean; readonly state: RateLimitState } {
    const { maxTokens, tokensPerFill, fillIntervalMs } = this.spec;
    const fills = Math.floor((now - b.at) / fillIntervalMs);
    if (fills > 0) {
      b.tokens = Math.min(maxTokens, b.tokens + fills * tokensPerFill);
      b.at += fills * fillIntervalMs;
    }
    const taken = b.tokens >= 1;
    if (taken) b.tokens -= 1;
    const reset = Math.max(0, Math.ceil((b.at + fillIntervalMs - now) / 1000));
    return { taken, state: { limit: maxTokens, remaining: Math.floor(b.tokens), reset } };
  }
}

/** One `localRateLimit` policy instance: its specs and their buckets. */
export class RateLimiter {
  readonly #policy: LocalRateLimitPolicy;
  readonly #specs: readonly SpecBuckets[];
  readonly #now: () => number;

  constructor(policy: LocalRateLimitPolicy, now: () => number = () => performance.now()) {
    this.#policy = policy;
    this.#specs = policy.specs.map((s) => new SpecBuckets(s));
    this.#now = now;
  }

  /** Whether `other` would count the same way (buckets survive a reload that keeps the spec). */
  sameAs(other: LocalRateLimitPolicy): boolean {
    return JSON.stringify(other) === JSON.stringify(this.#policy);
  }

  /** Buckets kept now, over all specs. */
  get keys(): number {
    let n = 0;
    for (const s of this.#specs) n += s.keys;
    return n;
  }

  /** Charges the request. Every spec of a list is charged in order (tokens taken stay taken when
   * a later one refuses, as agentgateway); the conditional form charges the first that applies.
   * The state reported is the most constrained one (fewest remaining). */
  check(ctx: () => CelContext): RateDecision {
    const now = this.#now();
    let vars: CelVars | undefined;
    const lazyVars = (): CelVars => (vars ??= celVars(ctx()));
    let tightest: RateLimitState | null = null;
    for (const spec of this.#specs) {
      if (!spec.applies(lazyVars)) continue;
      const bucket = spec.bucket(lazyVars, now);
      if (bucket !== null) {
        const { taken, state } = spec.take(bucket, now);
        if (!taken) return { allowed: false, state };
        if (tightest === null || state.remaining < tightest.remaining) tightest = state;
      }
      if (this.#policy.mode === 'first') break;
    }
    return { allowed: true, state: tightest };
  }
}

/** The response header fields of a rate limit's state (agentgateway's names). */
export function rateLimitHeaders(state: RateLimitState): Array<readonly [string, string]> {
  return [
    ['x-ratelimit-limit', String(state.limit)],
    ['x-ratelimit-remaining', String(state.remaining)],
    ['x-ratelimit-reset', String(state.reset)],
  ];
}

/** The limiter for a route in a generation being built: the previous generation's when its
 * policy is unchanged, so a reload does not hand every client a fresh allowance. */
export function limiterFor(previous: ReadonlyMap<string, RateLimiter> | undefined, route: string, policy: LocalRateLimitPolicy): RateLimiter {
  const kept = previous?.get(route);
  return kept !== undefined && kept.sameAs(policy) ? kept : new RateLimiter(policy);
}
