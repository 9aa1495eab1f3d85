// How the --processes supervisor restarts a gateway process that died: after a delay that doubles
// with each death in a row (capped), so a crash loop does not spin a core or flood the log; a
// process that stayed up a while starts the count again. After too many deaths in a row the
// supervisor gives up and exits non-zero, so whatever runs it (systemd, Kubernetes) sees it.

export interface BackoffPolicy {
  /** the delay before the first restart */
  readonly initialMs: number;
  readonly maxMs: number;
  /** a process up this long had started fine: its next death is the first in a row again */
  readonly stableMs: number;
  /** deaths in a row (each sooner than stableMs after its start) that make the supervisor give up */
  readonly maxDeaths: number;
}

// Gives up after about 24 s of restarts (0.25 + 0.5 + … + 8 + 8).
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 8_000, stableMs: 30_000, maxDeaths: 8 };

export type RestartDecision = { readonly restartInMs: number } | { readonly giveUp: true };

/** One per process slot. */
export class RestartBackoff {
  private readonly policy: BackoffPolicy;
  private deaths = 0;

  constructor(policy: BackoffPolicy) {
    this.policy = policy;
  }

  /** Deaths in a row so far, counting the last one. */
  get deathsInARow(): number {
    return this.deaths;
  }

  /** The process died after running `upMs`: when to start it again, or give up. */
  next(upMs: number): RestartDecision {
    if (upMs >= this.policy.stableMs) this.deaths = 0;
    this.deaths++;
    if (this.deaths >= this.policy.maxDeaths) return { giveUp: true };
    return { restartInMs: Math.min(this.policy.maxMs, this.policy.initialMs * 2 ** (this.deaths - 1)) };
  }
}
