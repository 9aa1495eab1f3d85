// `binds[]` and their `listeners[]` (agentgateway `LocalBind`, `LocalListener`). Names default as
// agentgateway names them, since they show up in access logs and metrics (`bind/9000`, `listener0`).

import { readRoute } from './read-routes.js';
import { type ListenerProtocol, readProtocolAndTls } from './read-server-tls.js';
import { type IssueList, type Item, MapReader, asList, indexPath, keyPath } from './schema-reader.js';
import type { BindConfig, ListenerConfig, RouteConfig } from './types.js';

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
    const protocols: ProtocolAt[] = [];
    const checkName = uniqueNames(issues, 'listeners', { key: 'gatewayName', byDefault: name });
    for (const [j, l] of (m.list('listeners', true) ?? []).entries()) {
      const read = readListener(issues, l, j, name, cwd);
      if (read === undefined) continue;
      listeners.push(read.listener);
      protocols.push({ path: l.path, protocol: read.protocol });
      checkName(l, j, read.listener, read.listener.gatewayName);
    }
    const protocol = oneProtocol(issues, protocols);
    if (port !== undefined) out.push({ port, name, protocol, listeners });
  }
  return out;
}

/** A listener's protocol (undefined: a wrong one, reported already) and its config path. */
export interface ProtocolAt {
  readonly path: string;
  readonly protocol: ListenerProtocol | undefined;
}

/** The protocol of a bind: its listeners' one. A port serves HTTP or HTTPS, so a listener of
 * another protocol than the first is reported. */
export function oneProtocol(issues: IssueList, listeners: readonly ProtocolAt[]): ListenerProtocol {
  const protocol = listeners.find((l) => l.protocol !== undefined)?.protocol ?? 'HTTP';
  for (const l of listeners) {
    if (l.protocol !== undefined && l.protocol !== protocol) {
      issues.add(keyPath(l.path, 'protocol'), `${l.protocol} beside ${protocol} on one port: a port serves HTTP or HTTPS, not both (give this listener a port of its own)`);
    }
  }
  return protocol;
}

function readListener(
  issues: IssueList,
  item: Item,
  index: number,
  bindName: string,
  cwd: string,
): { readonly listener: ListenerConfig; readonly protocol: ListenerProtocol | undefined } | undefined {
  const m = MapReader.open(issues, item.path, item.value, {
    known: ['name', 'gatewayName', 'hostname', 'protocol', 'tls', 'routes'],
    unsupported: ['tcpRoutes', 'policies', 'namespace'],
  });
  if (m === undefined) return undefined;
  const served = readProtocolAndTls(m, cwd, () => 'HTTP');

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
  const listener: ListenerConfig = {
    name: name ?? `listener${index}`,
    named: name !== undefined,
    gatewayName: m.string('gatewayName', { nonEmpty: true }) ?? bindName,
    hostname: m.string('hostname', { nonEmpty: true }) ?? null,
    tls: served?.tls ?? null,
    routes,
  };
  return { listener, protocol: served?.protocol };
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
