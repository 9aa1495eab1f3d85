// Route policy `mcpAuthentication` (agentgateway's OAuth protected-resource variant): the route
// becomes an OAuth resource server for `issuer`, serving RFC 9728 metadata and answering 401 with
// `resource_metadata`. It brings its own JWT policy, so it does not go with `jwtAuth`.
// Both spellings are read: HEAD's `audiences`/`jwks` and v0.10.5's `audience`/`jwksUrl`.

import { audienceList, JWT_MODES } from './read-jwt-auth.js';
import { type Jwks, discoveryFrom, readJwks, readJwksUrl } from './read-jwks.js';
import { NO_RESOURCE_METADATA, readResourceMetadata } from './read-resource-metadata.js';
import { type IssueList, MapReader } from './schema-reader.js';
import type { McpAuthenticationPolicy } from './types.js';

/** Keys of agentgateway HEAD's `LocalMcpAuthentication` that Portcullis does not implement. */
const UNSUPPORTED = ['provider', 'authorizationLocation', 'jwtValidationOptions', 'clientId', 'clientSecret'];

export function readMcpAuthentication(issues: IssueList, path: string, value: unknown, cwd: string): McpAuthenticationPolicy | undefined {
  const m = MapReader.open(issues, path, value, {
    known: ['issuer', 'audiences', 'audience', 'jwks', 'jwksUrl', 'mode', 'resourceMetadata'],
    unsupported: UNSUPPORTED,
  });
  if (m === undefined) return undefined;

  const issuer = m.string('issuer', { required: true, nonEmpty: true });
  const audiences = readAudiences(m);
  const jwks = readKeySource(m, issuer, cwd);
  const mode = m.oneOf('mode', JWT_MODES);
  const metadata = m.has('resourceMetadata')
    ? readResourceMetadata(issues, m.at('resourceMetadata'), m.value('resourceMetadata'))
    : NO_RESOURCE_METADATA;
  if (issuer === undefined || audiences === undefined || jwks === undefined || metadata === undefined) return undefined;
  if (mode === undefined && m.has('mode')) return undefined;
  return {
    issuer,
    audiences,
    jwksSource: jwks.source,
    keys: jwks.keys,
    // agentgateway HEAD: strict by default (v0.10.5 ran it as optional)
    mode: mode ?? 'strict',
    resourceMetadata: metadata.members,
    scopes: metadata.scopes,
  };
}

/** `audiences: [...]` (HEAD) or `audience: <one>` (v0.10.5); null when neither (audience not checked). */
function readAudiences(m: MapReader): readonly string[] | null | undefined {
  if (m.has('audience')) {
    if (m.has('audiences')) {
      m.issues.add(m.at('audience'), 'not allowed next to audiences (audience is the v0.10.5 spelling of audiences: [<one>])');
      return undefined;
    }
    const one = m.string('audience', { nonEmpty: true });
    return one === undefined ? undefined : [one];
  }
  const list = m.stringList('audiences');
  if (list === undefined && m.has('audiences')) return undefined;
  return audienceList(list);
}

/** `jwks` (any jwtAuth form; absent: discovery) or `jwksUrl` (v0.10.5; empty: discovery). */
function readKeySource(m: MapReader, issuer: string | undefined, cwd: string): Jwks | undefined {
  if (!m.hasKey('jwksUrl')) return readJwks(m, 'jwks', issuer, cwd);
  if (m.has('jwks')) {
    m.issues.add(m.at('jwksUrl'), 'not allowed next to jwks (jwksUrl is the v0.10.5 spelling of jwks: {url: ...})');
    return undefined;
  }
  if (!m.has('jwksUrl')) return discoveryFrom(m, m.at('jwksUrl'), issuer);
  const url = m.string('jwksUrl');
  return url === '' ? discoveryFrom(m, m.at('jwksUrl'), issuer) : readJwksUrl(m, m.at('jwksUrl'), url);
}
