// Latencies as a histogram of log-spaced buckets (each 2 % wider than the one below), so that runs
// can be pooled: a percentile over every run of a target, where one run's p99 says whether an
// old-generation collection happened to fall into its few seconds.

/** bucket 0 holds everything up to this; bucket b ≥ 1 up to FLOOR_MS × GROWTH^b */
const FLOOR_MS = 0.01;
const GROWTH = 1.02;

/** Sparse: [bucket, count] pairs, buckets ascending. */
export type LatencyHistogram = ReadonlyArray<readonly [number, number]>;

function bucketOf(ms: number): number {
  return ms <= FLOOR_MS ? 0 : Math.ceil(Math.log(ms / FLOOR_MS) / Math.log(GROWTH));
}

export function histogramOf(latenciesMs: Iterable<number>): LatencyHistogram {
  const counts = new Map<number, number>();
  for (const ms of latenciesMs) {
    const b = bucketOf(ms);
    counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  return [...counts].sort((x, y) => x[0] - y[0]);
}

export function mergeHistograms(histograms: readonly LatencyHistogram[]): LatencyHistogram {
  const counts = new Map<number, number>();
  for (const h of histograms) for (const [b, n] of h) counts.set(b, (counts.get(b) ?? 0) + n);
  return [...counts].sort((x, y) => x[0] - y[0]);
}

/** The `p`th percentile (0–100), as the upper edge of its bucket (within 2 % above); 0 when empty. */
export function histogramPercentile(h: LatencyHistogram, p: number): number {
  const total = h.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const [b, n] of h) {
    seen += n;
    if (seen >= rank) return FLOOR_MS * GROWTH ** b;
  }
  return FLOOR_MS * GROWTH ** (h[h.length - 1]?.[0] ?? 0);
}

export function isLatencyHistogram(v: unknown): v is LatencyHistogram {
  return Array.isArray(v) && v.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((x) => Number.isInteger(x) && x >= 0));
}
