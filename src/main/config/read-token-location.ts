// jwtAuth `location` (agentgateway HEAD): where the token is read. Exactly one of
// `{header: {name, prefix}}`, `{queryParameter: {name}}`, `{cookie: {name}}`; agentgateway's
// `{expression: <CEL>}` is not implemented. Absent: `Authorization: Bearer <token>`.

import { isHttpToken } from './http-syntax.js';
import type { MapReader } from './schema-reader.js';
import type { TokenLocation } from './types.js';

/** Header names are lower case: header lookups on the uWS side take lower-case names. */
export const DEFAULT_LOCATION: TokenLocation = { kind: 'header', name: 'authorization', prefix: 'Bearer ' };

const KINDS = ['header', 'queryParameter', 'cookie'] as const;

export function readTokenLocation(parent: MapReader): TokenLocation | undefined {
  if (!parent.has('location')) return DEFAULT_LOCATION;
  const m = parent.map('location', { known: KINDS, unsupported: ['expression'] });
  const kind = m?.choice(KINDS, ['expression']);
  if (m === undefined || kind === undefined) return undefined;

  switch (kind) {
    case 'header': {
      const h = m.map('header', { known: ['name', 'prefix'] }, true);
      const name = h?.string('name', { required: true, nonEmpty: true });
      const prefix = h?.string('prefix');
      if (h === undefined || name === undefined) return undefined;
      if (!isHttpToken(name)) {
        h.issues.add(h.at('name'), 'expected a header name');
        return undefined;
      }
      if (prefix === undefined && h.has('prefix')) return undefined;
      const lower = name.toLowerCase();
      // agentgateway's default prefix belongs to the Authorization header; another header
      // carries the bare token unless a prefix is given.
      return { kind: 'header', name: lower, prefix: prefix ?? (lower === 'authorization' ? 'Bearer ' : '') };
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
  }
}
