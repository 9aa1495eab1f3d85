// Pure data conversion (no I/O), so the main thread can evaluate CEL over the same context values
// the workers do (header transformations, access-log fields).
// Context values as cel-js can read them. cel-js tells a map from other objects by its
// `constructor` property, so an object holding a member of that name (a header a client sends,
// a claim) is an "Unsupported type" to it, and every rule reading it fails: a deny rule then
// denies nothing. Such objects, at any depth, are handed to it as Maps, which it reads as maps
// the same way.
import type { CelContext, Claims, RequestCelContext } from './worker-contract.js';

function hasConstructorMember(value: object): boolean {
  return Object.hasOwn(value, 'constructor');
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

/** Whether an object in `value` holds a `constructor` member: a walk that allocates nothing, as
 * claims seen once (a token per request) mostly hold none. */
function needsMaps(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    const items: readonly unknown[] = value;
    for (let i = 0; i < items.length; i++) if (isObject(items[i]) && needsMaps(items[i])) return true;
    return false;
  }
  if (hasConstructorMember(value)) return true;
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    const member: unknown = Reflect.get(value, k);
    if (isObject(member) && needsMaps(member)) return true;
  }
  return false;
}

/** `value` with every object that holds a `constructor` member (and those above it) as a Map. */
function asMaps(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const items: readonly unknown[] = value;
    const out = items.map(asMaps);
    return out.some((v, i) => v !== items[i]) ? out : value;
  }
  const entries = Object.entries(value);
  const out = entries.map(([k, v]): [string, unknown] => [k, asMaps(v)]);
  const changed = hasConstructorMember(value) || out.some(([, v], i) => v !== entries[i]?.[1]);
  return changed ? new Map(out) : value;
}

/** The claims of cached tokens made readable, by identity: each later request with the token
 * finds them here. Claims seen once (a token per request) are only walked: an entry per fresh
 * token would grow the table in the old generation until a full collection. */
const readableClaims = new WeakMap<Claims, unknown>();

/** `claims` will be read again, by identity (a verified-token cache holds them). */
export function rememberClaimsForCel(claims: Claims): void {
  if (!readableClaims.has(claims)) readableClaims.set(claims, needsMaps(claims) ? asMaps(claims) : claims);
}

function claimsForCel(claims: Claims | null): unknown {
  if (claims === null) return null;
  const remembered = readableClaims.get(claims);
  if (remembered !== undefined) return remembered;
  return needsMaps(claims) ? asMaps(claims) : claims;
}

/** Header values are strings: only the map itself can hold the member. */
function requestForCel(request: RequestCelContext | null): unknown {
  if (request === null || !hasConstructorMember(request.headers)) return request;
  return { ...request, headers: new Map(Object.entries(request.headers)) };
}

export type CelVars = Readonly<Record<'jwt' | 'mcp' | 'request' | 'source', unknown>>;

/** Exactly the four CEL roots; null members stay null (a rule reading jwt.roles with no token
 * errors, hence is false). */
export function celVars(ctx: CelContext): CelVars {
  return { jwt: claimsForCel(ctx.jwt), mcp: ctx.mcp, request: requestForCel(ctx.request), source: ctx.source };
}
