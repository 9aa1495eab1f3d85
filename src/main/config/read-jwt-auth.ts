// Route policy `jwtAuth` (agentgateway `LocalJwtConfig`): the single-issuer form
// `{mode, issuer, audiences, jwks}` or `{mode, providers: [...]}`, plus agentgateway HEAD's
// `location` and `jwtValidationOptions`. As agentgateway HEAD, the form is chosen by whether
// `providers` is present, so the messages can be specific.

import { readJwks } from './read-jwks.js';
import { readJwtValidation } from './read-jwt-validation.js';
import { readTokenLocation } from './read-token-location.js';
import { type IssueList, MapReader } from './schema-reader.js';
import type { JwtAuthPolicy, JwtMode, JwtProviderConfig } from './types.js';

export const JWT_MODES: readonly JwtMode[] = ['strict', 'optional', 'permissive'];

const PROVIDER_KEYS = ['issuer', 'audiences', 'jwks'];

export function readJwtAuth(issues: IssueList, path: string, value: unknown, cwd: string): JwtAuthPolicy | undefined {
  const m = MapReader.open(issues, path, value, {
    known: ['mode', 'providers', 'location', 'jwtValidationOptions', ...PROVIDER_KEYS],
  });
  if (m === undefined) return undefined;
  const mode = m.oneOf('mode', JWT_MODES) ?? 'optional';
  const location = readTokenLocation(m);
  const validation = readJwtValidation(m);

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
  if (location === undefined || validation === undefined) return undefined;
  return { mode, providers, location, ...validation };
}

function readProvider(m: MapReader, cwd: string): JwtProviderConfig | undefined {
  const issuer = m.string('issuer', { required: true, nonEmpty: true });
  const audiences = m.stringList('audiences');
  const jwks = readJwks(m, 'jwks', issuer, cwd);
  if (issuer === undefined || jwks === undefined) return undefined;
  return { issuer, audiences: audienceList(audiences), jwksSource: jwks.source, keys: jwks.keys };
}

/** An empty or absent list turns the audience check off (agentgateway HEAD). */
export function audienceList(audiences: readonly string[] | undefined): readonly string[] | null {
  return audiences === undefined || audiences.length === 0 ? null : audiences;
}
