// Header field names and methods a request commonly carries, as string constants. uWS gives
// every name (and the method) as a new string on every request; each Set, Map or object-key lookup of such a string hashes it
// first, and an object key is also looked up in V8's string table. A name replaced by its
// constant (found by length and then an equality test) carries its hash already, and looks up
// and compares as the same string the gateway's own code names it by.

const NAMES = [
  'te', 'host', 'vary', 'accept', 'cookie', 'expect', 'origin', 'pragma', 'referer', 'upgrade',
  'forwarded', 'x-real-ip', 'connection', 'keep-alive', 'user-agent', 'tracestate', 'x-api-key',
  'traceparent', 'content-type', 'x-request-id', 'authorization', 'cache-control', 'last-event-id',
  'content-length', 'mcp-session-id', 'accept-encoding', 'accept-language', 'x-forwarded-for',
  'transfer-encoding', 'x-forwarded-host', 'proxy-connection', 'x-forwarded-proto',
  'proxy-authorization', 'mcp-protocol-version', 'access-control-request-method',
  'access-control-request-headers',
] as const;

/** The names above by length (no holes): a name is compared only with those of its own length. */
const byLength: ReadonlyArray<readonly string[]> = (() => {
  const out: string[][] = Array.from({ length: Math.max(...NAMES.map((n) => n.length)) + 1 }, () => []);
  for (const name of NAMES) out[name.length]?.push(name);
  return out;
})();

/** The constant for a known (lower-case) field name, else the name itself. */
export function knownFieldName(name: string): string {
  if (name.length >= byLength.length) return name;
  const candidates = byLength[name.length];
  if (candidates !== undefined) for (const known of candidates) if (known === name) return known;
  return name;
}

const METHODS = ['GET', 'PUT', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The method in upper case, as a constant when it is one of the common ones. */
export function knownMethod(method: string): string {
  for (const known of METHODS) if (known === method) return known;
  const upper = method.toUpperCase();
  for (const known of METHODS) if (known === upper) return known;
  return upper;
}
