// Route policy `jwtAuth` (agentgateway `LocalJwtConfig`): the single-issuer form
// `{mode, issuer, audiences, jwks}` or `{mode, providers: [...]}`. As agentgateway HEAD, the form
// is chosen by whether `providers` is present, so the messages can be specific.

import { resolve } from 'node:path';
import type { PublicJwk } from '../../protocol/worker-contract.js';
import { isHttpUrl } from './http-syntax.js';
import { loadJwksFile, parseJwks } from './jwks-load.js';
import { type IssueList, MapReader, keyPath } from './schema-reader.js';
import type { JwksSource, JwtAuthPolicy, JwtMode, JwtProviderConfig } from './types.js';

const MODES: readonly JwtMode[] = ['strict', 'optional', 'permissive'];

/**
 * Settings agentgateway HEAD reads from `location` and `jwtValidationOptions`, which Portcullis
 * does not read yet (those keys are reported as not supported): agentgateway's defaults. Spread
 * rather than written inline, so this compiles while types.ts is being extended with them.
 */
const VALIDATION_DEFAULTS = {
  leewaySeconds: 60,
  requiredClaims: ['exp'],
  // lower case: header lookups on the uWS side take lower-case names
  location: { kind: 'header', name: 'authorization', prefix: 'Bearer ' },
} as const;
const PROVIDER_KEYS = ['issuer', 'audiences', 'jwks'];

export function readJwtAuth(issues: IssueList, path: string, value: unknown, cwd: string): JwtAuthPolicy | undefined {
  const m = MapReader.open(issues, path, value, {
    known: ['mode', 'providers', ...PROVIDER_KEYS],
    unsupported: ['location', 'jwtValidationOptions'],
  });
  if (m === undefined) return undefined;
  const mode = m.oneOf('mode', MODES) ?? 'optional';

  const providers: JwtProviderConfig[] = [];
  if (m.hasKey('providers')) {
    for (const key of PROVIDER_KEYS) {
      if (m.hasKey(key)) issues.add(m.at(key), 'not allowed next to providers (move it into a provider)');
    }
    const items = m.list('providers', true);
    if (items !== undefined && items.length === 0) issues.add(m.at('providers'), 'expected at least one provider');
    for (const item of items ?? []) {
      const p = MapReader.open(issues, item.path, item.value, { known: PROVIDER_KEYS });
      const provider = p === undefined ? undefined : readProvider(p, cwd);
      if (provider !== undefined) providers.push(provider);
    }
  } else {
    const provider = readProvider(m, cwd);
    if (provider !== undefined) providers.push(provider);
  }
  return { ...VALIDATION_DEFAULTS, mode, providers };
}

function readProvider(m: MapReader, cwd: string): JwtProviderConfig | undefined {
  const issuer = m.string('issuer', { required: true, nonEmpty: true });
  const audiences = m.stringList('audiences');
  const jwks = readJwks(m, cwd);
  if (issuer === undefined || jwks === undefined) return undefined;
  return {
    issuer,
    // An empty or absent list turns the audience check off (agentgateway HEAD).
    audiences: audiences === undefined || audiences.length === 0 ? null : audiences,
    jwksSource: jwks.source,
    keys: jwks.keys,
  };
}

interface Jwks {
  readonly source: JwksSource;
  readonly keys: readonly PublicJwk[];
}

/** `jwks`: `{file}` (relative to the process cwd, as agentgateway), `{url}`, or inline JSON text. */
function readJwks(m: MapReader, cwd: string): Jwks | undefined {
  const value = m.value('jwks', true);
  if (value === undefined) return undefined;
  const path = m.at('jwks');
  const keysPath = keyPath(path, 'keys');

  if (typeof value === 'string') {
    if (!value.trimStart().startsWith('{')) {
      m.issues.add(path, 'failed to load JWKS: inline JWKS must be JSON text; for a file write `jwks: {file: <path>}`');
      return undefined;
    }
    return { source: { kind: 'inline' }, keys: parseJwks(m.issues, value, path, keysPath) };
  }
  if (typeof value !== 'object') {
    m.issues.add(path, 'expected {file: <path>}, {url: <https URL>} or inline JWKS JSON text');
    return undefined;
  }
  const j = MapReader.open(m.issues, path, value, { known: ['file', 'url'] });
  const kind = j?.choice(['file', 'url'] as const);
  if (j === undefined || kind === undefined) return undefined;

  if (kind === 'file') {
    const file = j.string('file', { required: true, nonEmpty: true });
    if (file === undefined) return undefined;
    const abs = resolve(cwd, file);
    return { source: { kind: 'file', path: abs }, keys: loadJwksFile(m.issues, j.at('file'), abs, keysPath) };
  }
  const url = j.string('url', { required: true, nonEmpty: true });
  if (url === undefined) return undefined;
  if (!isHttpUrl(url)) {
    m.issues.add(j.at('url'), 'expected an http or https URL');
    return undefined;
  }
  // Fetched (and refreshed) at run time by the JWKS cache.
  return { source: { kind: 'url', url }, keys: [] };
}
