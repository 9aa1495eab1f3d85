// setTimeout runs a delay above 2^31 − 1 ms (~24.8 days), or one that is not a number, after
// 1 ms (with a TimeoutOverflowWarning). A cache lifetime taken from an IdP's headers must
// never reach it that way: every timer of the JWKS code goes through here.

/** The largest delay setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` clamped to what setTimeout honours; NaN (a caller bug) waits the longest, not the shortest. */
export function timerDelay(ms: number): number {
  if (Number.isNaN(ms)) return MAX_TIMER_MS;
  return Math.min(Math.max(ms, 0), MAX_TIMER_MS);
}
