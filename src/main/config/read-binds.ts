// `binds[]` and their `listeners[]` (agentgateway `LocalBind`, `LocalListener`). Names default as
// agentgateway names them, since they show up in access logs and metrics (`bind/9000`, `listener0`).

import { readRoute } from './read-routes.js';
import { type IssueList, type Item, MapReader, NOT_SUPPORTED, asList, indexPath, keyPath } from './schema-reader.js';
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
    // Port 0 asks the OS for a free port (tests, embedding); only one bind may have it, since
    // binds are known by their name (bind/<port>) and a second bind/0 would be lost.
    const port = m.integer('port', { min: 0, max: 65535 }, true);
    const first = port === undefined ? undefined : ports.get(port);
    if (first !== undefined) {
      const why = port === 0 ? ' (both binds would be named bind/0; put the listeners in one bind)' : '';
      issues.add(m.at('port'), `port ${port} is already used by ${indexPath(path, first)}${why}`);
    } else if (port !== undefined) ports.set(port, i);

    const name = `bind/${port ?? '?'}`;
    const listeners: ListenerConfig[] = [];
    const checkName = uniqueNames(issues, 'listeners', { key: 'gatewayName', byDefault: name });
    for (const [j, l] of (m.list('listeners', true) ?? []).entries()) {
      const listener = readListener(issues, l, j, name, cwd);
      if (listener === undefined) continue;
      listeners.push(listener);
      checkName(l, j, listener, listener.gatewayName);
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
  const checkName = uniqueNames(issues, 'routes', { key: 'ruleName', byDefault: 'default' });
  // A TCP listener has tcpRoutes instead (already reported as not supported).
  for (const [k, r] of (m.list('routes', !m.hasKey('tcpRoutes')) ?? []).entries()) {
    const route = readRoute(issues, r, k, cwd);
    if (route === undefined) continue;
    routes.push(route);
    checkName(r, k, route, route.ruleName);
  }
  const name = m.string('name', { nonEmpty: true });
  return {
    name: name ?? `listener${index}`,
    named: name !== undefined,
    gatewayName: m.string('gatewayName', { nonEmpty: true }) ?? bindName,
    hostname: m.string('hostname', { nonEmpty: true }) ?? null,
    routes,
  };
}

/**
 * Names of a list's members must differ (with their qualifier: a listener's gatewayName, a route's
 * ruleName), explicit or default alike: agentgateway keys listeners and routes by them, so there
 * a second one of a name silently replaces the first; here MCP sessions are scoped by them.
 * Returns the check of one member, at `item` (the list's `index`-th).
 */
function uniqueNames(
  issues: IssueList,
  list: 'listeners' | 'routes',
  qualifier: { readonly key: string; readonly byDefault: string },
): (item: Item, index: number, member: { readonly name: string; readonly named: boolean }, qualifiedBy: string) => void {
  const seen = new Map<string, number>();
  return (item, index, member, qualifiedBy) => {
    const key = `${member.name}\u0000${qualifiedBy}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, index);
      return;
    }
    const what = `${member.named ? '' : 'its default name '}${JSON.stringify(member.name)}`;
    const also = qualifiedBy === qualifier.byDefault ? '' : ` with ${qualifier.key} ${JSON.stringify(qualifiedBy)}`;
    issues.add(member.named ? keyPath(item.path, 'name') : item.path, `${what}${also} is already the name of ${indexPath(list, first)}`);
  };
}
