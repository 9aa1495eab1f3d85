// agentgateway's `AuthorizationLocation`: where a credential is read or written. Exactly one of
// `{header: {name, prefix}}`, `{queryParameter: {name}}`, `{cookie: {name}}` or
// `{expression: <CEL>}` (read only). jwtAuth's `location` does not take `expression`; backendAuth
// reads subject and actor tokens through it, and refuses it where a credential is inserted.

import { isHttpToken } from './http-syntax.js';
import type { MapReader } from './schema-reader.js';
import type { SourceLocation, TokenLocation } from './types.js';
import { celCompileError } from '../upstream-auth/cel-params.js';

/** Header names are lower case: header lookups on the uWS side take lower-case names. */
export const DEFAULT_LOCATION: TokenLocation = { kind: 'header', name: 'authorization', prefix: 'Bearer ' };

const KINDS = ['header', 'queryParameter', 'cookie'] as const;

/** Headers that frame or route the request: a credential written there would break the call. */
const FRAMING_HEADERS: ReadonlySet<string> = new Set([
  'host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection',
]);

interface LocationRules {
  /** what `expression` means here: read by CEL, not implemented, or refused (an insert) */
  readonly expression: 'read' | 'unsupported' | 'insert';
  /** the prefix of a header written without one */
  readonly prefixOf: (lowerName: string) => string;
}

/** jwtAuth `location`. Absent: `Authorization: Bearer <token>`. */
export function readTokenLocation(parent: MapReader): TokenLocation | undefined {
  if (!parent.has('location')) return DEFAULT_LOCATION;
  const found = readLocation(parent, 'location', {
    expression: 'unsupported',
    // agentgateway's default prefix belongs to the Authorization header; another header
    // carries the bare token unless a prefix is given.
    prefixOf: (name) => (name === 'authorization' ? 'Bearer ' : ''),
  });
  return found?.kind === 'expression' ? undefined : found;
}

/** A backendAuth location a credential is written to (absent: `Authorization: Bearer`). The
 * prefix is as written: agentgateway inserts a header without one as the bare value. */
export function readInsertLocation(parent: MapReader, key: string): TokenLocation | undefined {
  if (!parent.has(key)) return DEFAULT_LOCATION;
  const found = readLocation(parent, key, { expression: 'insert', prefixOf: () => '' });
  return found?.kind === 'expression' ? undefined : found;
}

/** A backendAuth location a token is read from; `expression` is CEL returning the token. */
export function readSourceLocation(parent: MapReader, key: string): SourceLocation | undefined {
  return readLocation(parent, key, { expression: 'read', prefixOf: () => '' });
}

function readLocation(parent: MapReader, key: string, rules: LocationRules): SourceLocation | undefined {
  const readsCel = rules.expression === 'read';
  // `expression` is a known key where it reads or is refused with a reason of its own.
  const unsupported = rules.expression === 'unsupported' ? ['expression'] : [];
  const kinds = unsupported.length === 0 ? [...KINDS, 'expression' as const] : KINDS;
  const m = parent.map(key, { known: kinds, unsupported }, true);
  const kind = m?.choice(kinds, unsupported);
  if (m === undefined || kind === undefined) return undefined;

  switch (kind) {
    case 'header': {
      const h = m.map('header', { known: ['name', 'prefix'] }, true);
      const name = h?.string('name', { required: true, nonEmpty: true });
      const prefix = h?.string('prefix');
      if (h === undefined || name === undefined) return undefined;
      const lower = name.toLowerCase();
      if (!isHttpToken(name)) {
        h.issues.add(h.at('name'), 'expected a header name');
        return undefined;
      }
      if (rules.expression === 'insert' && FRAMING_HEADERS.has(lower)) {
        h.issues.add(h.at('name'), `a credential cannot be written to ${JSON.stringify(lower)}: it frames or routes the request`);
        return undefined;
      }
      if (prefix === undefined && h.has('prefix')) return undefined;
      if (prefix !== undefined && !isHeaderValueText(prefix)) {
        h.issues.add(h.at('prefix'), 'expected text allowed in a header value (no control characters)');
        return undefined;
      }
      return { kind: 'header', name: lower, prefix: prefix ?? rules.prefixOf(lower) };
    }
    case 'queryParameter': {
      const name = m.map('queryParameter', { known: ['name'] }, true)?.string('name', { required: true, nonEmpty: true });
      return name === undefined ? undefined : { kind: 'queryParameter', name };
    }
    case 'cookie': {
      const c = m.map('cookie', { known: ['name'] }, true);
      const name = c?.string('name', { required: true, nonEmpty: true });
      if (c === undefined || name === undefined) return undefined;
      if (!isHttpToken(name)) {
        c.issues.add(c.at('name'), 'expected a cookie name');
        return undefined;
      }
      return { kind: 'cookie', name };
    }
    case 'expression': {
      if (!readsCel) {
        m.issues.add(m.at('expression'), 'an expression can only read a credential; give a header, queryParameter or cookie to write one to');
        return undefined;
      }
      const expr = m.string('expression', { required: true, nonEmpty: true });
      if (expr === undefined) return undefined;
      const error = celCompileError(expr);
      if (error !== null) {
        m.issues.add(m.at('expression'), `CEL does not parse: ${error}`);
        return undefined;
      }
      return { kind: 'expression', expr };
    }
  }
}

/** RFC 9110 field-value characters: visible ASCII, space, tab, obs-text; no CR, LF or NUL. */
export function isHeaderValueText(s: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(s);
}
