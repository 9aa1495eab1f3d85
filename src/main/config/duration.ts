// Duration strings as agentgateway writes them (`30s`, `10m`, `1h30m`, `500ms`, `1d`).

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  if (text === '') return undefined;
  const part = /(\d+)(ms|s|m|h|d)/y; // sticky: each part must start where the last one ended
  let total = 0;
  while (part.lastIndex < text.length) {
    const m = part.exec(text);
    const unit = UNIT_MS[m?.[2] ?? ''];
    if (m === null || unit === undefined) return undefined;
    total += Number(m[1]) * unit;
  }
  return Number.isSafeInteger(total) ? total : undefined;
}
