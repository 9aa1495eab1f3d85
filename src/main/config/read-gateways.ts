// `gateways` and top-level `routes`: agentgateway HEAD's model (which deprecates `binds`), read
// into the same binds, listeners and routes, so nothing past the loader tells them apart. A
// gateway is one port: its own listener (named after the gateway), or its `listeners[]`
// (`<gateway>/<name>`, default name `listener<i>`). A route attaches to what its `gateways` names
// (`<gateway>`: all its listeners, or `<gateway>/<listener>`), by default to gateway `default`.
// Names are those HEAD logs: gateway `default/default`, listener `<gateway>[/<listener>]`, route
// `<namespace>/<name>` (namespace `default`, name `route<i>`, i counting that listener's routes),
// route_rule the route's ruleName when it has one. `mcp:` (read-simple-mcp.ts) attaches likewise,
// or has a port of its own.

import { oneProtocol, type ProtocolAt } from './read-binds.js';
import { openRoute, routeBody, type RouteBody } from './read-routes.js';
import { readProtocolAndTls } from './read-server-tls.js';
import { DEFAULT_MCP_PORT, readSimpleMcp } from './read-simple-mcp.js';
import { type IssueList, type Item, MapReader, asList, indexPath, isPlainObject, keyPath } from './schema-reader.js';
import type { BindConfig, ListenerConfig, RouteConfig } from './types.js';

/** The gateway every listener of a local config belongs to, as HEAD logs it (namespace/name). */
const LOCAL_GATEWAY = 'default/default';
/** Gateway-phase policies (agentgateway `LocalGatewayPolicy`, flattened into a gateway or listener). */
const GATEWAY_POLICIES = ['oidc', 'jwtAuth', 'authorization', 'extAuthz', 'extProc', 'cors', 'transformations', 'basicAuth', 'apiKey'];
const byTls = (hasTls: boolean): 'HTTP' | 'HTTPS' => (hasTls ? 'HTTPS' : 'HTTP');

/** A listener being built: routes are added as the top-level routes attach to it. */
interface OpenListener {
  readonly config: Omit<ListenerConfig, 'routes'>;
  readonly routes: RouteConfig[];
  /** route name → the index in `routes[]` of the route that took it */
  readonly names: Map<string, number>;
}

interface OpenBind {
  readonly port: number;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly listeners: readonly OpenListener[];
}

/** The top-level keys of HEAD's model, each with its path; undefined when absent. */
export interface HeadModel {
  readonly gateways: Item | undefined;
  readonly routes: Item | undefined;
  readonly mcp: Item | undefined;
}

/**
 * Binds of `gateways` with the `routes` and `mcp` attached (and `mcp`'s own, when it has one).
 * `taken` holds the ports `binds` uses, by port (the bind's name): reusing one is reported.
 */
export function readGateways(issues: IssueList, head: HeadModel, taken: ReadonlyMap<number, string>, cwd: string): BindConfig[] {
  const refs = new Map<string, OpenListener[]>();
  const binds: OpenBind[] = [];
  const ports = new Map<number, string>(taken);
  const { gateways, routes, mcp } = head;
  if (gateways !== undefined) {
    if (!isPlainObject(gateways.value)) issues.add(gateways.path, 'expected a mapping of gateway names to gateways');
    else {
      for (const [name, value] of Object.entries(gateways.value)) {
        const bind = readGateway(issues, name, { path: keyPath(gateways.path, name), value }, ports, refs, cwd);
        if (bind !== undefined) binds.push(bind);
      }
    }
  }
  if (routes !== undefined) {
    for (const [i, item] of (asList(issues, routes.path, routes.value) ?? []).entries()) attachRoute(issues, item, i, refs, cwd);
  }
  const own = mcp === undefined ? undefined : placeMcp(issues, mcp, refs, ports, cwd);
  if (own !== undefined) binds.push(own);
  return binds.map((b) => ({
    port: b.port,
    name: `bind/${b.port}`,
    protocol: b.protocol,
    listeners: b.listeners.map((l) => ({ ...l.config, routes: l.routes })),
  }));
}

function readGateway(
  issues: IssueList,
  name: string,
  item: Item,
  ports: Map<number, string>,
  refs: Map<string, OpenListener[]>,
  cwd: string,
): OpenBind | undefined {
  const m = MapReader.open(issues, item.path, item.value, { known: ['port', 'protocol', 'tls', 'listeners'], unsupported: GATEWAY_POLICIES });
  if (m === undefined) return undefined;
  const port = m.integer('port', { min: 0, max: 65535 }, true);
  if (port !== undefined) {
    const other = ports.get(port);
    if (other !== undefined) issues.add(m.at('port'), `port ${port} is already used by ${other}`);
    else ports.set(port, item.path);
  }
  const listeners: OpenListener[] = [];
  const protocols: ProtocolAt[] = [];
  const add = (reference: string, named: boolean, lm: MapReader): void => {
    const served = readProtocolAndTls(lm, cwd, byTls);
    protocols.push({ path: lm.path, protocol: served?.protocol });
    const hostname = lm === m ? null : (lm.string('hostname', { nonEmpty: true }) ?? null);
    const listener: OpenListener = {
      config: { name: reference, named, gatewayName: LOCAL_GATEWAY, hostname, tls: served?.tls ?? null },
      routes: [],
      names: new Map(),
    };
    listeners.push(listener);
    refs.set(reference, [listener]);
  };
  if (!m.has('listeners')) add(name, true, m);
  else {
    for (const key of ['protocol', 'tls']) {
      if (m.hasKey(key)) issues.add(m.at(key), 'not allowed beside listeners: set it on each listener');
    }
    for (const [j, l] of (m.list('listeners') ?? []).entries()) {
      const lm = MapReader.open(issues, l.path, l.value, { known: ['name', 'hostname', 'protocol', 'tls'], unsupported: GATEWAY_POLICIES });
      if (lm === undefined) continue;
      const own = lm.string('name', { nonEmpty: true });
      const reference = `${name}/${own ?? `listener${j}`}`;
      if (refs.has(reference)) issues.add(lm.at('name'), `a listener of gateway ${JSON.stringify(name)} already has this name`);
      else add(reference, own !== undefined, lm);
    }
  }
  refs.set(name, listeners);
  const protocol = oneProtocol(issues, protocols);
  return port === undefined ? undefined : { port, protocol, listeners };
}

/** `mcp:` on the gateways it names (or `default`), or on a port of its own: that bind is returned. */
function placeMcp(issues: IssueList, item: Item, refs: ReadonlyMap<string, OpenListener[]>, ports: Map<number, string>, cwd: string): OpenBind | undefined {
  const mcp = readSimpleMcp(issues, item, cwd);
  if (mcp === undefined) return undefined;
  const wanted = mcp.gateways.length > 0 ? mcp.gateways : mcp.port === undefined && refs.has('default') ? [{ path: keyPath(item.path, 'gateways'), value: 'default' }] : [];
  if (wanted.length > 0) {
    for (const listener of resolveReferences(issues, wanted, refs)) listener.routes.push(mcp.route(true));
    return undefined;
  }
  const port = mcp.port ?? DEFAULT_MCP_PORT;
  const other = ports.get(port);
  if (other !== undefined) {
    issues.add(mcp.port === undefined ? item.path : keyPath(item.path, 'port'), `port ${port}${mcp.port === undefined ? ' (the default)' : ''} is already used by ${other}`);
    return undefined;
  }
  ports.set(port, item.path);
  const listener: OpenListener = { config: { name: 'mcp', named: true, gatewayName: LOCAL_GATEWAY, hostname: null, tls: null }, routes: [mcp.route(false)], names: new Map() };
  return { port, protocol: 'HTTP', listeners: [listener] };
}

function attachRoute(issues: IssueList, item: Item, index: number, refs: ReadonlyMap<string, OpenListener[]>, cwd: string): void {
  const m = openRoute(issues, item, ['namespace', 'gateways']);
  if (m === undefined) return;
  const body = routeBody(m, cwd);
  const name = m.string('name', { nonEmpty: true });
  const namespace = m.string('namespace', { nonEmpty: true }) ?? 'default';
  const ruleName = m.string('ruleName', { nonEmpty: true });
  const listeners = attachedListeners(m, refs);
  for (const listener of listeners) {
    const shown = `${namespace}/${name ?? `route${listener.routes.length}`}`;
    const first = listener.names.get(shown);
    if (first !== undefined && name !== undefined) {
      issues.add(m.at('name'), `${JSON.stringify(shown)} is already the name of ${indexPath('routes', first)} on listener ${listener.config.name}`);
      continue;
    }
    listener.names.set(shown, index);
    listener.routes.push(routeOf(body, shown, name !== undefined, ruleName));
  }
}

function routeOf(body: RouteBody, name: string, named: boolean, ruleName: string | undefined): RouteConfig {
  return { name, named, ruleName: ruleName ?? 'default', ruleKey: ruleName ?? null, ...body };
}

/** The listeners a route's `gateways` names (one reference or a list), without repeats. */
function attachedListeners(m: MapReader, refs: ReadonlyMap<string, OpenListener[]>): OpenListener[] {
  const value = m.value('gateways');
  let wanted: Item[];
  if (value === undefined) {
    if (!refs.has('default')) {
      m.issues.add(m.at('gateways'), 'required: there is no gateway named default to attach to');
      return [];
    }
    wanted = [{ path: m.at('gateways'), value: 'default' }];
  } else wanted = typeof value === 'string' ? [{ path: m.at('gateways'), value }] : (m.list('gateways') ?? []);
  return resolveReferences(m.issues, wanted, refs);
}

/** The listeners gateway references name (`<gateway>` or `<gateway>/<listener>`), without repeats. */
function resolveReferences(issues: IssueList, wanted: readonly Item[], refs: ReadonlyMap<string, OpenListener[]>): OpenListener[] {
  const out = new Set<OpenListener>();
  for (const w of wanted) {
    if (typeof w.value !== 'string' || w.value === '') {
      issues.add(w.path, 'expected a gateway name, or <gateway>/<listener>');
      continue;
    }
    const found = refs.get(w.value);
    if (found === undefined) issues.add(w.path, `unknown gateway reference ${JSON.stringify(w.value)}`);
    else for (const l of found) out.add(l);
  }
  return [...out];
}
