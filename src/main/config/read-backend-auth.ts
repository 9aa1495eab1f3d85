// `backendAuth` (agentgateway HEAD `BackendAuthCompat`): `{key: <FileOrInline>}` shorthand, one
// kind (`passthrough`, `key`, `oauthTokenExchange`, `crossAppAccess`) with or without extra
// `credentials: [{location, key}]`, or `credentials` alone. agentgateway's cloud kinds are
// reported as not supported. Unlike agentgateway's untagged parse, `{key: "...", credentials}`
// keeps its credentials instead of dropping them silently.

import { readCrossAppAccess } from './read-cross-app-access.js';
import { readSecret } from './read-secret.js';
import { readTokenExchange } from './read-token-exchange.js';
import { DEFAULT_LOCATION, isHeaderValueText, readInsertLocation } from './read-token-location.js';
import { type IssueList, MapReader, asList, isPlainObject } from './schema-reader.js';
import type { BackendAuthPolicy, ExtraCredential, SecretValue, TokenLocation } from './types.js';

const KINDS = ['passthrough', 'key', 'oauthTokenExchange', 'crossAppAccess'] as const;
const OTHER_KINDS = ['gcp', 'aws', 'azure', 'copilot', 'jwtSign'];

export function readBackendAuth(issues: IssueList, path: string, value: unknown, cwd: string): BackendAuthPolicy | undefined {
  const m = MapReader.open(issues, path, value, { known: [...KINDS, 'credentials'], unsupported: OTHER_KINDS });
  if (m === undefined) return undefined;
  const present = [...KINDS, ...OTHER_KINDS].filter((k) => m.hasKey(k));
  if (present.length > 1) issues.add(path, `expected at most one of ${KINDS.join(', ')} (found ${present.join(', ')})`);
  if (present.length === 0 && !m.hasKey('credentials')) issues.add(path, `required: one of ${KINDS.join(', ')}, or credentials`);
  const credentials = readCredentials(m, cwd);
  if (present.length > 1 || credentials === undefined) return undefined;
  const kind = present[0];
  if (kind === undefined) return m.hasKey('credentials') ? { kind: 'credentials', credentials } : undefined;

  switch (kind) {
    case 'passthrough': {
      // `passthrough: {}` and `passthrough:` (null) both mean the default location.
      if (!m.has(kind)) return { kind, location: DEFAULT_LOCATION, credentials };
      const p = m.map(kind, { known: ['location'] });
      const location = p === undefined ? undefined : readInsertLocation(p, 'location');
      return location === undefined ? undefined : { kind, location, credentials };
    }
    case 'key': {
      const key = readKey(m, cwd);
      return key === undefined ? undefined : { kind, ...key, credentials };
    }
    case 'oauthTokenExchange': {
      const exchange = readTokenExchange(m, kind, cwd);
      return exchange === undefined ? undefined : { kind, exchange, credentials };
    }
    case 'crossAppAccess': {
      const crossApp = readCrossAppAccess(m, kind, cwd);
      return crossApp === undefined ? undefined : { kind, crossApp, credentials };
    }
    default:
      return undefined; // a kind Portcullis does not implement, reported already
  }
}

/** `key: <FileOrInline>` or `key: {value: <FileOrInline>, location?}`. */
function readKey(m: MapReader, cwd: string): { value: SecretValue; location: TokenLocation } | undefined {
  const raw = m.value('key', true);
  if (raw === undefined) return undefined;
  if (!isPlainObject(raw) || Object.hasOwn(raw, 'file')) {
    const value = readSecret(m, 'key', cwd);
    return value === undefined || !fitsLocation(m, m.at('key'), value, DEFAULT_LOCATION) ? undefined : { value, location: DEFAULT_LOCATION };
  }
  const k = m.map('key', { known: ['value', 'location'] });
  if (k === undefined) return undefined;
  const value = readSecret(k, 'value', cwd);
  const location = readInsertLocation(k, 'location');
  return value === undefined || location === undefined || !fitsLocation(k, k.at('value'), value, location) ? undefined : { value, location };
}

function readCredentials(m: MapReader, cwd: string): ExtraCredential[] | undefined {
  if (!m.has('credentials')) return m.hasKey('credentials') ? undefined : [];
  const items = asList(m.issues, m.at('credentials'), m.value('credentials'));
  if (items === undefined) return undefined;
  const out: ExtraCredential[] = [];
  for (const item of items) {
    const c = MapReader.open(m.issues, item.path, item.value, { known: ['location', 'key'] });
    if (c === undefined) continue;
    if (!c.has('location')) c.issues.add(c.at('location'), 'required');
    const location = c.has('location') ? readInsertLocation(c, 'location') : undefined;
    const key = readSecret(c, 'key', cwd);
    if (location !== undefined && key !== undefined && fitsLocation(c, c.at('key'), key, location)) out.push({ location, key });
  }
  return out.length === items.length ? out : undefined;
}

/** A static credential must be sendable where it goes: a header value holds no control characters. */
function fitsLocation(m: MapReader, path: string, value: SecretValue, location: TokenLocation): boolean {
  const text = location.kind === 'header' ? `${location.prefix}${value.secret}` : value.secret;
  const fits = location.kind === 'queryParameter' || (isHeaderValueText(text) && (location.kind !== 'cookie' || !text.includes(';')));
  // The message names the rule, never the value.
  if (!fits) m.issues.add(path, `holds characters a ${location.kind === 'cookie' ? 'cookie' : 'header'} value cannot carry (control characters${location.kind === 'cookie' ? ' or ;' : ''})`);
  return fits;
}
