// What the micro-benchmarks share: a positive number from the command line, the median of rounds.

/** `--name <n>` from the command line when it is a positive number, else `fallback`. */
export function numberOption(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const v = at < 0 ? Number.NaN : Number(process.argv[at + 1]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

export function median(xs: readonly number[]): number {
  return [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
}
