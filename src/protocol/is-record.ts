// The one check that a parsed JSON value is an object with members (not null, not an array),
// for code that reads members of values it did not build.

/** Whether `v` is a non-null, non-array object. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
