// Policies that shape what an upstream request carries, where agentgateway HEAD attaches them:
// a route's backend (`backends[].policies`, LocalBackendPolicies) and one MCP target
// (`mcp.targets[].policies`, SimpleLocalBackendPolicies), besides the route. Portcullis reads
// `backendAuth`, `requestHeaderModifier`, `responseHeaderModifier` (backend only, as agentgateway),
// `transformations`, `http` (its requestTimeout) and `backendTLS`; the other kinds agentgateway
// knows there are reported as not supported.

import { celValueProblem } from './cel-check.js';
import { readBackendAuth } from './read-backend-auth.js';
import { readBackendHttp } from './read-traffic.js';
import { readBackendTls } from './read-backend-tls.js';
import { isHeaderValueText } from './read-token-location.js';
import { isHttpToken } from './http-syntax.js';
import { type IssueList, MapReader, isPlainObject, keyPath } from './schema-reader.js';
import type { BackendPolicies, HeaderModifier, HeaderTransform, Transformations } from './types.js';

export const NO_BACKEND_POLICIES: BackendPolicies = {
  backendAuth: null,
  requestHeaderModifier: null,
  responseHeaderModifier: null,
  transformations: null,
  http: null,
  backendTls: null,
};

/** Header fields that frame or route the request, or carry the MCP session: the gateway owns them. */
const OWN_HEADERS: ReadonlySet<string> = new Set([
  'host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection',
  'mcp-session-id',
]);

const BACKEND_UNSUPPORTED = [
  'tcp', 'backendTunnel', 'requestRedirect', 'health', 'extAuthz', 'authorization', 'mcpAuthorization',
  'mcpGuardrails', 'a2a', 'inferenceRouting', 'sessionAffinity', 'ai',
];
const TARGET_UNSUPPORTED = ['tcp', 'backendTunnel'];

/** `backends[].policies` (`where: 'backend'`) or `mcp.targets[].policies` (`'target'`). */
export function readBackendPolicies(issues: IssueList, path: string, value: unknown, cwd: string, where: 'backend' | 'target'): BackendPolicies {
  if (value === undefined || value === null) return NO_BACKEND_POLICIES;
  const known = ['backendAuth', 'requestHeaderModifier', 'transformations', 'http', 'backendTLS', ...(where === 'backend' ? ['responseHeaderModifier'] : [])];
  const m = MapReader.open(issues, path, value, { known, unsupported: where === 'backend' ? BACKEND_UNSUPPORTED : TARGET_UNSUPPORTED });
  if (m === undefined) return NO_BACKEND_POLICIES;
  const optional = <T>(key: string, read: (p: string, v: unknown) => T | undefined): T | null => {
    const v = m.value(key);
    return v === undefined ? null : (read(m.at(key), v) ?? null);
  };
  return {
    backendAuth: optional('backendAuth', (p, v) => readBackendAuth(issues, p, v, cwd)),
    requestHeaderModifier: optional('requestHeaderModifier', (p, v) => readHeaderModifier(issues, p, v)),
    responseHeaderModifier: optional('responseHeaderModifier', (p, v) => readHeaderModifier(issues, p, v)),
    transformations: optional('transformations', (p, v) => readTransformations(issues, p, v)),
    http: optional('http', (p, v) => readBackendHttp(issues, p, v)),
    // `backendTLS: {}` (or null) is a policy too: the system roots, the URL's host.
    backendTls: m.hasKey('backendTLS') ? (readBackendTls(issues, m.at('backendTLS'), m.raw('backendTLS'), cwd) ?? null) : null,
  };
}

/** `{add: {name: value}, set: {name: value}, remove: [name]}` with static values. */
export function readHeaderModifier(issues: IssueList, path: string, value: unknown): HeaderModifier | undefined {
  const m = MapReader.open(issues, path, value, { known: ['add', 'set', 'remove'] });
  if (m === undefined) return undefined;
  const values = (key: string): Array<readonly [string, string]> =>
    headerMap(m, key, (p, v) => {
      if (typeof v !== 'string') issues.add(p, 'expected a string');
      else if (!isHeaderValueText(v)) issues.add(p, 'a header value cannot hold control characters (CR, LF, NUL…)');
      else return v;
      return undefined;
    });
  return { add: values('add'), set: values('set'), remove: headerNames(m) };
}

/** `{request: {add, set, remove}, response: {…}}`, values CEL expressions giving strings. */
export function readTransformations(issues: IssueList, path: string, value: unknown): Transformations | undefined {
  if (isPlainObject(value) && 'conditional' in value) {
    issues.add(keyPath(path, 'conditional'), 'not supported by Portcullis');
    return undefined;
  }
  const m = MapReader.open(issues, path, value, { known: ['request', 'response'] });
  if (m === undefined) return undefined;
  const side = (key: string): HeaderTransform | null => {
    const s = m.map(key, { known: ['add', 'set', 'remove'], unsupported: ['replace', 'body', 'metadata'] });
    if (s === undefined) return null;
    const exprs = (k: string): Array<readonly [string, string]> =>
      headerMap(s, k, (p, v) => {
        if (typeof v !== 'string' || v === '') {
          issues.add(p, 'expected a CEL expression (a string literal needs inner quotes: \'"on"\')');
          return undefined;
        }
        const problem = celValueProblem(v);
        if (problem !== null) issues.add(p, problem);
        return problem === null ? v : undefined;
      });
    return { add: exprs('add'), set: exprs('set'), remove: headerNames(s) };
  };
  return { request: side('request'), response: side('response') };
}

/** A map of header name → value, names checked and lower-cased. */
function headerMap(m: MapReader, key: string, read: (path: string, value: unknown) => string | undefined): Array<readonly [string, string]> {
  const v = m.value(key);
  if (v === undefined || v === null) return [];
  const path = m.at(key);
  if (!isPlainObject(v)) {
    m.issues.add(path, 'expected a map of header name to value');
    return [];
  }
  const out: Array<readonly [string, string]> = [];
  for (const [name, raw] of Object.entries(v)) {
    const at = keyPath(path, name);
    if (!checkName(m.issues, at, name)) continue;
    const value = read(at, raw);
    if (value !== undefined) out.push([name.toLowerCase(), value]);
  }
  return out;
}

function headerNames(m: MapReader): string[] {
  const names = m.stringList('remove') ?? [];
  return names.filter((name, i) => checkName(m.issues, `${m.at('remove')}[${i}]`, name)).map((n) => n.toLowerCase());
}

function checkName(issues: IssueList, path: string, name: string): boolean {
  if (!isHttpToken(name)) {
    issues.add(path, 'not a valid header name');
    return false;
  }
  if (OWN_HEADERS.has(name.toLowerCase())) {
    issues.add(path, `the gateway owns ${name.toLowerCase()}: it cannot be changed by a policy`);
    return false;
  }
  return true;
}
