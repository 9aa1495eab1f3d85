// Route `backends[]`: `{weight?, mcp: {targets, statefulMode, prefixMode}}` (agentgateway
// `LocalMcpBackend`). Other backend kinds agentgateway knows are reported as not supported.

import { isHttpUrl } from './http-syntax.js';
import { readBackendPolicies } from './read-backend-policies.js';
import { type IssueList, type Item, MapReader, NOT_SUPPORTED, asList, indexPath, isPlainObject, keyPath } from './schema-reader.js';
import type { BackendPolicies, McpBackendConfig, McpTargetConfig } from './types.js';

const OTHER_KINDS = ['host', 'service', 'ai', 'dynamic'];

export function readBackends(issues: IssueList, path: string, value: unknown, cwd: string): McpBackendConfig[] {
  const out: McpBackendConfig[] = [];
  for (const item of asList(issues, path, value) ?? []) {
    const m = MapReader.open(issues, item.path, item.value, { known: ['weight', 'mcp', 'policies'], unsupported: OTHER_KINDS });
    if (m === undefined || m.choice(['mcp'], OTHER_KINDS) === undefined) continue;
    const weight = m.integer('weight', { min: 0, max: 0x7fffffff }) ?? 1;
    const policies = readBackendPolicies(issues, m.at('policies'), m.value('policies'), cwd, 'backend');
    const mcp = m.map('mcp', { known: ['targets', 'statefulMode', 'prefixMode'], unsupported: ['failureMode', 'dnsRebindingProtection'] }, true);
    const backend = mcp === undefined ? undefined : readMcpBackend(mcp, weight, policies, cwd);
    if (backend !== undefined) out.push(backend);
  }
  return out;
}

export function readMcpBackend(m: MapReader, weight: number, policies: BackendPolicies, cwd: string): McpBackendConfig | undefined {
  const statefulMode = m.oneOf('statefulMode', ['stateful', 'stateless'] as const) ?? 'stateful';
  let prefixMode: 'conditional' | 'always' = 'conditional';
  if (m.raw('prefixMode') === 'never') m.issues.add(m.at('prefixMode'), NOT_SUPPORTED); // agentgateway HEAD only
  else prefixMode = m.oneOf('prefixMode', ['conditional', 'always'] as const) ?? prefixMode;

  const items = m.list('targets', true);
  if (items === undefined) return undefined;
  if (items.length === 0) m.issues.add(m.at('targets'), 'expected at least one target');

  const targets: McpTargetConfig[] = [];
  const names = new Map<string, number>();
  const prefixed = items.length > 1 || prefixMode === 'always';
  items.forEach((item, i) => {
    const target = readTarget(m.issues, item, cwd);
    if (target === undefined) return;
    const namePath = keyPath(item.path, 'name');
    const first = names.get(target.name);
    if (first !== undefined) {
      m.issues.add(namePath, `duplicate target name ${JSON.stringify(target.name)} (also ${indexPath(m.at('targets'), first)})`);
    } else names.set(target.name, i);
    if (prefixed && target.name.includes('_')) {
      m.issues.add(
        namePath,
        'must not contain "_" when the backend has several targets or prefixMode is always: ' +
          'names are exposed as <target>_<name> and split at the first "_"',
      );
    }
    targets.push(target);
  });
  return { kind: 'mcp', weight, policies, targets, statefulMode, prefixMode };
}

function readTarget(issues: IssueList, item: Item, cwd: string): McpTargetConfig | undefined {
  const m = MapReader.open(issues, item.path, item.value, {
    known: ['name', 'mcp', 'sse', 'stdio', 'policies'],
    unsupported: ['openapi'],
  });
  if (m === undefined) return undefined;
  const name = m.string('name', { required: true, nonEmpty: true });
  const kind = m.choice(['mcp', 'sse', 'stdio'] as const, ['openapi']);
  if (name === undefined || kind === undefined) return undefined;

  if (kind === 'stdio') {
    const s = m.map('stdio', { known: ['cmd', 'args', 'env'], unsupported: ['clearEnv'] }, true);
    const cmd = s?.string('cmd', { required: true, nonEmpty: true });
    // agentgateway: "stdio has no backend connection".
    if (m.hasKey('policies')) issues.add(m.at('policies'), 'not allowed on a stdio target: it has no connection for them to apply to');
    if (s === undefined || cmd === undefined) return undefined;
    return { name, kind, cmd, args: s.stringList('args') ?? [], env: readEnv(s) };
  }
  const h = m.map(kind, { known: ['host', 'port', 'path'] }, true);
  const url = h === undefined ? undefined : readHttpTarget(h, kind === 'mcp' ? '/mcp' : '/sse');
  const policies = readBackendPolicies(issues, m.at('policies'), m.value('policies'), cwd, 'target');
  return url === undefined ? undefined : { name, kind, url, policies };
}

/** `{host: <url>}`, or `{host, port, path}` where host is a host name and an empty path takes the default. */
function readHttpTarget(m: MapReader, defaultPath: string): string | undefined {
  const host = m.string('host', { required: true, nonEmpty: true });
  if (m.hasKey('port') !== m.hasKey('path')) {
    m.issues.add(m.path, 'if port or path is set, both must be set; otherwise, use only host');
    return undefined;
  }
  if (host === undefined) return undefined;

  if (!m.hasKey('port')) {
    if (!isHttpUrl(host)) {
      m.issues.add(m.at('host'), 'expected an http or https URL (or a host name together with port and path)');
      return undefined;
    }
    return new URL(host).href;
  }

  const port = m.integer('port', { min: 1, max: 65535 }, true);
  const rawPath = m.string('path') ?? '';
  if (/[\s/?#@]/.test(host) || host.includes('://')) {
    m.issues.add(m.at('host'), 'with port and path, host must be a host name or address, not a URL');
    return undefined;
  }
  if (port === undefined) return undefined;
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const path = rawPath === '' ? defaultPath : rawPath.startsWith('/') ? rawPath : `/${rawPath}`;
  const url = `http://${hostPart}:${port}${path}`;
  if (!isHttpUrl(url)) {
    m.issues.add(m.path, `does not form a valid URL (${url})`);
    return undefined;
  }
  return new URL(url).href;
}

function readEnv(m: MapReader): Readonly<Record<string, string>> {
  const v = m.value('env');
  if (v === undefined) return {};
  if (!isPlainObject(v)) {
    m.issues.add(m.at('env'), 'expected a mapping of variable names to strings');
    return {};
  }
  const entries: [string, string][] = [];
  for (const [k, val] of Object.entries(v)) {
    if (typeof val === 'string') entries.push([k, val]);
    else m.issues.add(keyPath(m.at('env'), k), 'expected a string');
  }
  // fromEntries defines own properties, so a `__proto__` key cannot touch the prototype.
  return Object.fromEntries(entries);
}
