// Route policy `cors` (agentgateway `CorsSerde`): string lists where `"*"` means any, and a
// `maxAge` duration sent as whole seconds.

import { parseDurationMs } from './duration.js';
import { isHttpToken, isOrigin } from './http-syntax.js';
import { type IssueList, MapReader, NOT_SUPPORTED, indexPath } from './schema-reader.js';
import type { CorsPolicy, StringListOrAny } from './types.js';

export function readCors(issues: IssueList, path: string, value: unknown): CorsPolicy | undefined {
  const m = MapReader.open(issues, path, value, {
    known: ['allowCredentials', 'allowHeaders', 'allowMethods', 'allowOrigins', 'exposeHeaders', 'maxAge'],
  });
  if (m === undefined) return undefined;

  let maxAge: number | null = null;
  const maxAgeText = m.string('maxAge');
  if (maxAgeText !== undefined) {
    const ms = parseDurationMs(maxAgeText);
    if (ms === undefined) issues.add(m.at('maxAge'), 'expected a duration such as 30s, 10m or 1h30m');
    else maxAge = Math.floor(ms / 1000);
  }

  const headerName = { valid: isHttpToken, expected: 'expected "*" or a header name' };
  return {
    allowCredentials: m.boolean('allowCredentials') ?? false,
    allowHeaders: listOrAny(m, 'allowHeaders', headerName),
    allowMethods: listOrAny(m, 'allowMethods', { valid: isHttpToken, expected: 'expected "*" or an HTTP method' }),
    allowOrigins: browserOrigins(
      listOrAny(m, 'allowOrigins', {
        valid: isOrigin,
        expected: 'expected "*" or an origin such as https://example.com or http://localhost:3000 (no path)',
        // agentgateway HEAD matches `https://*.example.com` against hosts; compared as text it
        // would admit no origin at all.
        refuse: (v) => (v.includes('*') ? `wildcard origins are ${NOT_SUPPORTED}; list each origin (or "*" for any)` : null),
      }),
    ),
    exposeHeaders: listOrAny(m, 'exposeHeaders', headerName),
    maxAge,
  };
}

interface ItemCheck {
  readonly valid: (s: string) => boolean;
  readonly expected: string;
  /** a message when a value that may look valid is one Portcullis cannot honour */
  readonly refuse?: (s: string) => string | null;
}

/** A list that contains `"*"` anywhere is the wildcard (as agentgateway). */
function listOrAny(m: MapReader, key: string, check: ItemCheck): StringListOrAny {
  const values = m.stringList(key) ?? [];
  if (values.includes('*')) return { any: true };
  values.forEach((v, i) => {
    const refused = check.refuse?.(v) ?? null;
    if (refused !== null) m.issues.add(indexPath(m.at(key), i), refused);
    else if (!check.valid(v)) m.issues.add(indexPath(m.at(key), i), check.expected);
  });
  return { any: false, values };
}

/**
 * Origins as a browser serializes them in `Origin`, so the per-request check can compare strings:
 * an http(s) origin written with its scheme's default port (`https://a.example:443`) is the
 * origin the browser sends without it. Other schemes are kept as written.
 */
function browserOrigins(list: StringListOrAny): StringListOrAny {
  if (list.any) return list;
  return {
    any: false,
    values: list.values.map((v) => {
      if (!/^https?:\/\//i.test(v) || !URL.canParse(v)) return v;
      const origin = new URL(v).origin;
      return origin === 'null' ? v : origin;
    }),
  };
}
