// Freezing parsed JSON that several requests share (verified claims, remembered JOSE headers):
// what is derived from it once must stay true for every later reader.

/** Freezes `value` and everything in it; parsed JSON is a tree (no cycles). */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  Object.freeze(value);
  // Arrays by index: for-in would make a string of every index.
  if (Array.isArray(value)) {
    const items: readonly unknown[] = value;
    for (let i = 0; i < items.length; i++) deepFreeze(items[i]);
  } else {
    for (const k in value) deepFreeze(value[k]);
  }
  return value;
}
