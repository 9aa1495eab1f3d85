// A forward-only offset on performance.now(), the clock the gateway's remote JWKS reads for its
// unknown-kid refetch cooldown (src/main/jwks/remote-jwks.ts, 10 s, not yet a GatewayOption).
// Tests advance it instead of sleeping through the cooldown. Only for gateways running inline
// (`workers: 0`) in this process; restored when the test (or suite) ends.
import type { CleanupHost } from './files.js';

export interface MonotonicClock {
  /** Moves performance.now() forward by `ms` from now on. */
  advance(ms: number): void;
  /** The total offset applied so far. */
  readonly offsetMs: number;
}

/** The refetch cooldown the gateway uses when none is configured (RemoteJwksOptions.cooldownMs). */
export const DEFAULT_JWKS_COOLDOWN_MS = 10_000;

export function fakeMonotonicClock(t: CleanupHost): MonotonicClock {
  if (Object.hasOwn(performance, 'now')) throw new Error('performance.now is already faked');
  const realNow = performance.now.bind(performance);
  let offset = 0;
  Object.defineProperty(performance, 'now', { value: () => realNow() + offset, configurable: true, writable: true });
  t.after(async () => {
    Reflect.deleteProperty(performance, 'now');
  });
  return {
    advance(ms) {
      if (!(ms >= 0)) throw new RangeError('the clock only moves forward');
      offset += ms;
    },
    get offsetMs() {
      return offset;
    },
  };
}
