// deploy/ against the gateway it deploys: every file parses; the probes, the scrape annotations
// and the ports are the gateway's own defaults (taken from the source); the ConfigMap's config
// passes the gateway's loader with the environment the Deployment gives it (the session key from
// the Secret); and every metric the dashboard and the alert rules query is one a running
// gateway's /metrics exports (PromQL parsed by Prometheus's own grammar, lezer-promql).
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { parser as promql } from '@prometheus-io/lezer-promql';
import { parseAllDocuments } from 'yaml';
import { defaultRuntime } from '../../../src/main/config/read-runtime.js';
import { loadConfigText } from '../../../src/main/config/load.js';
import { LIVENESS_PATH, METRICS_PATHS, READINESS_PATH, parseHostPort } from '../../../src/main/ops/ops-servers.js';
import { startTestGateway } from '../../helpers/gateway-harness.js';
import { isRecord } from '../../helpers/mcp-http.js';
import { parseExposition, type Family } from '../../helpers/prometheus-text.js';

const deployDir = fileURLToPath(new URL('../../../../deploy/', import.meta.url));

type Doc = Readonly<Record<string, unknown>>;

/** `o.a.b[0]…`: what is there, or undefined. */
function at(o: unknown, ...path: Array<string | number>): unknown {
  let v = o;
  for (const k of path) {
    if (typeof k === 'number') v = Array.isArray(v) ? v[k] : undefined;
    else v = isRecord(v) ? v[k] : undefined;
  }
  return v;
}

function list(o: unknown, ...path: Array<string | number>): unknown[] {
  const v = at(o, ...path);
  return Array.isArray(v) ? v : [];
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out.sort();
}

interface Parsed {
  readonly file: string;
  readonly docs: readonly unknown[];
}

async function parseAll(): Promise<Parsed[]> {
  const out: Parsed[] = [];
  for (const file of await filesUnder(deployDir)) {
    const name = relative(deployDir, file);
    const text = await readFile(file, 'utf8');
    if (file.endsWith('.json')) out.push({ file: name, docs: [JSON.parse(text)] });
    else if (file.endsWith('.yaml') || file.endsWith('.yml')) {
      const docs = parseAllDocuments(text, { strict: true, uniqueKeys: true });
      const list = Array.isArray(docs) ? docs : [docs];
      for (const d of list) assert.deepEqual(d.errors.map((e) => e.message), [], `${name} parses`);
      out.push({ file: name, docs: list.map((d) => d.toJS()) });
    } else assert.fail(`${name}: deploy/ holds YAML and JSON only`);
  }
  return out;
}

/** Grafana's variables, as Prometheus would see them once Grafana has put values in. */
function asPromql(expr: string): string {
  return expr.replace(/\$__(?:rate_interval|interval|range)\b/g, '5m');
}

/** Every metric name the PromQL selects; fails on PromQL that does not parse. */
function metricNames(expr: string, where: string): string[] {
  const text = asPromql(expr);
  const tree = promql.parse(text);
  const names: string[] = [];
  let broken = false;
  tree.iterate({
    enter(node) {
      if (node.type.isError) broken = true;
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id !== null) names.push(text.slice(id.from, id.to));
      }
    },
  });
  assert.ok(!broken, `${where}: PromQL does not parse: ${expr}`);
  return names;
}

/** Is `name` a sample some family of the exposition exports (a histogram's _bucket/_sum/_count too)? */
function exported(families: ReadonlyMap<string, Family>, name: string): boolean {
  if (families.has(name)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  const base = m === null ? undefined : families.get(m[1] ?? '');
  return base !== undefined && (base.type === 'histogram' || (base.type === 'summary' && m?.[2] !== 'bucket'));
}

describe('deploy/', () => {
  let parsed: Parsed[] = [];
  const k8s = (kind: string): Doc => {
    const found = parsed.flatMap((p) => p.docs).filter((d): d is Doc => isRecord(d) && d['kind'] === kind);
    assert.equal(found.length, 1, `one ${kind}`);
    const [doc] = found;
    assert.ok(doc !== undefined);
    return doc;
  };

  before(async () => {
    parsed = await parseAll();
  });

  it('holds a dashboard, alert rules and the Kubernetes objects, each parsing', () => {
    assert.deepEqual(parsed.map((p) => p.file), [
      'grafana/portcullis-dashboard.json',
      'kubernetes/configmap.yaml',
      'kubernetes/deployment.yaml',
      'kubernetes/pdb.yaml',
      'kubernetes/secret.yaml',
      'kubernetes/service.yaml',
      'prometheus/alerts.yaml',
    ]);
  });

  it("probes and the scrape use the gateway's readiness and stats ports and paths", () => {
    const defaults = defaultRuntime();
    assert.ok(defaults.readinessAddr !== null && defaults.statsAddr !== null);
    const readinessPort = parseHostPort(defaults.readinessAddr).port;
    const statsPort = parseHostPort(defaults.statsAddr).port;
    const pod = at(k8s('Deployment'), 'spec', 'template');
    const container = at(pod, 'spec', 'containers', 0);
    const ports = new Map(list(container, 'ports').map((p) => [at(p, 'name'), at(p, 'containerPort')]));
    const portOf = (p: unknown): unknown => (typeof p === 'string' ? ports.get(p) : p);

    assert.equal(at(container, 'readinessProbe', 'httpGet', 'path'), READINESS_PATH);
    assert.equal(portOf(at(container, 'readinessProbe', 'httpGet', 'port')), readinessPort);
    assert.equal(at(container, 'livenessProbe', 'httpGet', 'path'), LIVENESS_PATH);
    assert.equal(portOf(at(container, 'livenessProbe', 'httpGet', 'port')), readinessPort);
    const annotations = at(pod, 'metadata', 'annotations');
    assert.equal(at(annotations, 'prometheus.io/scrape'), 'true');
    assert.equal(at(annotations, 'prometheus.io/port'), String(statsPort));
    assert.ok(METRICS_PATHS.includes(String(at(annotations, 'prometheus.io/path'))));
    assert.ok([...ports.values()].includes(statsPort) && [...ports.values()].includes(readinessPort), 'both ports declared');
  });

  it('runs non-root on a read-only root, with resources, behind a PodDisruptionBudget and a Service that select it', () => {
    const deployment = k8s('Deployment');
    const pod = at(deployment, 'spec', 'template');
    const container = at(pod, 'spec', 'containers', 0);
    assert.equal(at(pod, 'spec', 'securityContext', 'runAsNonRoot'), true);
    assert.equal(at(container, 'securityContext', 'readOnlyRootFilesystem'), true);
    assert.equal(at(container, 'securityContext', 'allowPrivilegeEscalation'), false);
    assert.deepEqual(at(container, 'securityContext', 'capabilities', 'drop'), ['ALL']);
    assert.ok(at(container, 'resources', 'requests', 'cpu') !== undefined && at(container, 'resources', 'limits', 'memory') !== undefined);
    const podLabels = at(pod, 'metadata', 'labels');
    const selects = (selector: unknown): boolean => isRecord(selector) && Object.entries(selector).every(([k, v]) => at(podLabels, k) === v);
    assert.ok(selects(at(deployment, 'spec', 'selector', 'matchLabels')));
    assert.ok(selects(at(k8s('PodDisruptionBudget'), 'spec', 'selector', 'matchLabels')));
    assert.ok(selects(at(k8s('Service'), 'spec', 'selector')));
    const replicas = Number(at(deployment, 'spec', 'replicas'));
    assert.ok(replicas > Number(at(k8s('PodDisruptionBudget'), 'spec', 'maxUnavailable')), 'a drain leaves replicas serving');
  });

  it("the ConfigMap's config passes the gateway's loader with the Deployment's environment, the session key from the Secret", () => {
    const deployment = k8s('Deployment');
    const container = at(deployment, 'spec', 'template', 'spec', 'containers', 0);
    const secret = k8s('Secret');
    const env: Record<string, string> = {};
    for (const e of list(container, 'env')) {
      const name = String(at(e, 'name'));
      const ref = at(e, 'valueFrom', 'secretKeyRef');
      if (ref !== undefined) {
        assert.equal(at(ref, 'name'), at(secret, 'metadata', 'name'), `${name} names the Secret`);
        const value = at(secret, 'stringData', String(at(ref, 'key')));
        assert.ok(typeof value === 'string', `the Secret holds ${String(at(ref, 'key'))}`);
        env[name] = value;
      } else env[name] = String(at(e, 'value'));
    }
    // The config file is where -f reads it: the ConfigMap's key, mounted where args point.
    const configMap = k8s('ConfigMap');
    const args = list(container, 'args').map(String);
    const file = args[args.indexOf('-f') + 1] ?? '';
    const mount = list(container, 'volumeMounts').find((m) => file.startsWith(`${String(at(m, 'mountPath'))}/`));
    const volume = list(deployment, 'spec', 'template', 'spec', 'volumes').find((v) => at(v, 'name') === at(mount, 'name'));
    assert.equal(at(volume, 'configMap', 'name'), at(configMap, 'metadata', 'name'));
    const text = at(configMap, 'data', file.slice(String(at(mount, 'mountPath')).length + 1));
    assert.ok(typeof text === 'string', `the ConfigMap holds ${file}`);

    const loaded = loadConfigText(text, { cwd: '/', env });
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
    assert.equal(loaded.config.runtime.sessionKey, env['PORTCULLIS_SESSION_KEY']);
    const mcpPort = list(container, 'ports').find((p) => at(p, 'name') === 'mcp');
    assert.deepEqual(loaded.config.binds.map((b) => b.port), [at(mcpPort, 'containerPort')]);
    // the ops listeners stay where the probes and the scrape look
    assert.deepEqual([loaded.config.runtime.readinessAddr, loaded.config.runtime.statsAddr], [defaultRuntime().readinessAddr, defaultRuntime().statsAddr]);
  });

  it('every metric the dashboard and the alert rules query is one the gateway exports', async (t) => {
    // A real gateway's exposition: what the dashboard and the rules can query.
    const gw = await startTestGateway(t, { configText: '{}', statsAddr: '127.0.0.1:0' });
    const res = await fetch(`http://127.0.0.1:${gw.gateway.opsPorts.stats}${METRICS_PATHS[0] ?? ''}`, { headers: { connection: 'close' } });
    const families: ReadonlyMap<string, Family> = parseExposition(await res.text());
    const dashboard = parsed.find((p) => p.file.endsWith('.json'))?.docs[0];
    const exprs: Array<readonly [string, string]> = [];
    for (const panel of list(dashboard, 'panels')) {
      if (at(panel, 'type') === 'row') continue;
      assert.ok(list(panel, 'targets').length > 0, `panel ${String(at(panel, 'title'))} queries something`);
      for (const target of list(panel, 'targets')) exprs.push([`dashboard: ${String(at(panel, 'title'))}`, String(at(target, 'expr'))]);
    }
    for (const v of list(dashboard, 'templating', 'list')) {
      const query = at(v, 'query', 'query');
      const m = typeof query === 'string' ? /^label_values\((.*),\s*\w+\)$/.exec(query) : null;
      if (m !== null) exprs.push([`dashboard variable ${String(at(v, 'name'))}`, m[1] ?? '']);
    }
    const rules = parsed.find((p) => p.file === 'prometheus/alerts.yaml')?.docs[0];
    for (const group of list(rules, 'groups')) {
      for (const rule of list(group, 'rules')) {
        const name = String(at(rule, 'alert'));
        assert.ok(typeof at(rule, 'labels', 'severity') === 'string' && typeof at(rule, 'annotations', 'summary') === 'string', `${name}: severity and summary`);
        exprs.push([`alert ${name}`, String(at(rule, 'expr'))]);
      }
    }
    const names = new Set<string>();
    for (const [where, expr] of exprs) {
      const found = metricNames(expr, where);
      assert.ok(found.length > 0, `${where} selects a metric`);
      for (const n of found) {
        assert.ok(exported(families, n), `${where}: ${n} is not in the gateway's /metrics`);
        names.add(n);
      }
    }
    const alerts = exprs.map(([where]) => where);
    for (const alert of ['PortcullisHigh5xxRatio', 'PortcullisAuthFailureSpike', 'PortcullisJwksRefreshFailing', 'PortcullisBufferBudgetNearFull']) {
      assert.ok(alerts.includes(`alert ${alert}`), `alert ${alert}`);
    }
    assert.ok(names.has('portcullis_mcp_tool_calls_total') && names.has('nodejs_eventloop_lag_p99_seconds'));
  });
});
