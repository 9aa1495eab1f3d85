// `mcp:` (agentgateway HEAD `LocalSimpleMcpConfig`): one MCP backend (targets, statefulMode,
// prefixMode) with its route `policies`, as one route named `internal/default`. It attaches to
// gateways (`gateways`, or gateway `default` when there is one and no `port` is set), where it
// serves /mcp, /sse and /.well-known; otherwise it has a port of its own (default 3000) with one
// listener, `mcp`, where it serves every path.

import { NO_BACKEND_POLICIES } from './read-backend-policies.js';
import { readMcpBackend } from './read-backends.js';
import { readPolicies } from './read-policies.js';
import { type IssueList, type Item, MapReader } from './schema-reader.js';
import type { RouteConfig, RouteMatch } from './types.js';

export const DEFAULT_MCP_PORT = 3000;

const prefix = (value: string): RouteMatch => ({ path: { kind: 'prefix', value }, method: null, headers: [], query: [] });
const SHARED_PORT_MATCHES: readonly RouteMatch[] = [prefix('/mcp'), prefix('/sse'), prefix('/.well-known')];
const OWN_PORT_MATCHES: readonly RouteMatch[] = [prefix('/')];

export interface SimpleMcp {
  /** the gateway references written in `gateways` (one or a list), each with its path */
  readonly gateways: readonly Item[];
  /** `port` as written */
  readonly port: number | undefined;
  /** its route, on a port shared with other routes or on its own */
  route(sharedPort: boolean): RouteConfig;
}

export function readSimpleMcp(issues: IssueList, item: Item, cwd: string): SimpleMcp | undefined {
  const m = MapReader.open(issues, item.path, item.value, {
    known: ['gateways', 'port', 'policies', 'targets', 'statefulMode', 'prefixMode'],
    unsupported: ['failureMode', 'dnsRebindingProtection'],
  });
  if (m === undefined) return undefined;
  const port = m.integer('port', { min: 0, max: 65535 });
  const { policies } = readPolicies(issues, m.at('policies'), m.raw('policies'), cwd);
  const backend = readMcpBackend(m, 1, NO_BACKEND_POLICIES, cwd);
  const written = m.value('gateways');
  const gateways = written === undefined ? [] : typeof written === 'string' ? [{ path: m.at('gateways'), value: written }] : (m.list('gateways') ?? []);
  if (gateways.length > 0 && m.has('port')) issues.add(m.at('gateways'), 'cannot be used with port (port is the deprecated way to serve on a port of its own)');
  return {
    gateways,
    port,
    route: (sharedPort) => ({
      name: 'internal/default',
      named: true,
      ruleName: 'default',
      ruleKey: null,
      hostnames: [],
      matches: sharedPort ? SHARED_PORT_MATCHES : OWN_PORT_MATCHES,
      policies,
      backends: backend === undefined ? [] : [backend],
    }),
  };
}
