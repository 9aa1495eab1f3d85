// `binds[]` and their `listeners[]` (agentgateway `LocalBind`, `LocalListener`). Names default as
// agentgateway names them, since they show up in access logs and metrics (`bind/9000`, `listener0`).

import { readRoute } from './read-routes.js';
import { type IssueList, type Item, MapReader, NOT_SUPPORTED, asList, indexPath } from './schema-reader.js';
import type { BindConfig, ListenerConfig, RouteConfig } from './types.js';

const OTHER_PROTOCOLS = ['HTTPS', 'TLS', 'TCP', 'HBONE'];

export function readBinds(issues: IssueList, path: string, value: unknown, cwd: string): BindConfig[] {
  const out: BindConfig[] = [];
  const ports = new Map<number, number>();
  for (const [i, item] of (asList(issues, path, value) ?? []).entries()) {
    const m = MapReader.open(issues, item.path, item.value, {
      known: ['port', 'listeners'],
      unsupported: ['tunnelProtocol', 'mode'],
    });
    if (m === undefined) continue;
    // Port 0 asks the OS for a free port (tests, embedding), so it may repeat.
    const port = m.integer('port', { min: 0, max: 65535 }, true);
    const first = port === undefined || port === 0 ? undefined : ports.get(port);
    if (first !== undefined) issues.add(m.at('port'), `port ${port} is already used by ${indexPath(path, first)}`);
    else if (port !== undefined) ports.set(port, i);

    const name = `bind/${port ?? '?'}`;
    const listeners: ListenerConfig[] = [];
    for (const [j, l] of (m.list('listeners', true) ?? []).entries()) {
      const listener = readListener(issues, l, j, name, cwd);
      if (listener !== undefined) listeners.push(listener);
    }
    if (port !== undefined) out.push({ port, name, listeners });
  }
  return out;
}

function readListener(issues: IssueList, item: Item, index: number, bindName: string, cwd: string): ListenerConfig | undefined {
  const m = MapReader.open(issues, item.path, item.value, {
    known: ['name', 'gatewayName', 'hostname', 'protocol', 'routes'],
    unsupported: ['tls', 'tcpRoutes', 'policies', 'namespace'],
  });
  if (m === undefined) return undefined;

  const protocol = m.value('protocol');
  if (typeof protocol === 'string' && OTHER_PROTOCOLS.includes(protocol)) issues.add(m.at('protocol'), NOT_SUPPORTED);
  else if (protocol !== undefined && protocol !== 'HTTP') issues.add(m.at('protocol'), 'expected HTTP');

  const routes: RouteConfig[] = [];
  // A TCP listener has tcpRoutes instead (already reported as not supported).
  for (const [k, r] of (m.list('routes', !m.hasKey('tcpRoutes')) ?? []).entries()) {
    const route = readRoute(issues, r, k, cwd);
    if (route !== undefined) routes.push(route);
  }
  return {
    name: m.string('name', { nonEmpty: true }) ?? `listener${index}`,
    gatewayName: m.string('gatewayName', { nonEmpty: true }) ?? bindName,
    hostname: m.string('hostname', { nonEmpty: true }) ?? null,
    routes,
  };
}
