// Loads agentgateway's local YAML config into the normalised GatewayConfig. The steps follow
// agentgateway: env expansion of the raw text, YAML parse, then a strict schema read that names
// the path of every problem. Each step reports all of its issues; a later step only runs when
// the earlier ones were clean, so one typo does not cascade into misleading follow-on messages.

import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { type Env, expandEnv } from './env-expand.js';
import { inDocumentOrder } from './issue-order.js';
import { readBinds } from './read-binds.js';
import { readGateways } from './read-gateways.js';
import { defaultRuntime, readRuntime } from './read-runtime.js';
import { readFrontendPolicies } from './read-tracing.js';
import { IssueList, MapReader } from './schema-reader.js';
import type { ConfigIssue, GatewayConfig } from './types.js';
import { errorText } from '../../protocol/errors.js';

export type LoadResult = { readonly ok: true; readonly config: GatewayConfig } | { readonly ok: false; readonly issues: ConfigIssue[] };

export interface LoadOptions {
  /** Base for relative paths in the config (JWKS files), as agentgateway: the process cwd, not the file's dir. */
  readonly cwd: string;
  readonly env: Env;
}

/** Top-level keys agentgateway (v0.10.5 or HEAD) accepts that Portcullis does not implement. */
const AGENTGATEWAY_ONLY = [
  'policies',
  'gatewayPolicies',
  'workloads',
  'services',
  'backends',
  'routeGroups',
  'tcpRoutes',
  'llm',
  'ui',
];

export function loadConfigText(text: string, opts: LoadOptions): LoadResult {
  try {
    return load(text, opts);
  } catch (err: unknown) {
    // The readers do not throw on bad input; this is a last guard so callers never have to catch.
    const message = errorText(err);
    return { ok: false, issues: [{ path: '<config>', message: `could not load config: ${message}` }] };
  }
}

export function loadConfigFile(path: string, opts: LoadOptions): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    const message = errorText(err);
    return { ok: false, issues: [{ path: '<file>', message: `could not read config file: ${message}` }] };
  }
  return loadConfigText(text, opts);
}

/** One line per issue: `<path>: <message>`. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}

function load(text: string, opts: LoadOptions): LoadResult {
  const expanded = expandEnv(text, opts.env);
  if (expanded.issues.length > 0) return { ok: false, issues: [...expanded.issues] };

  const doc = parseDocument(expanded.text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => {
        const at = e.linePos?.[0];
        return {
          path: at === undefined ? '<yaml>' : `line ${at.line}, column ${at.col}`,
          // prettyErrors appends " at line L, column C:" and a source excerpt; the path has both.
          message: (e.message.split('\n', 1)[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
        };
      }),
    };
  }

  const issues = new IssueList();
  const config = readGateway(issues, doc.toJS(), opts.cwd, opts.env);
  return issues.count > 0 ? { ok: false, issues: inDocumentOrder(issues.items, doc) } : { ok: true, config };
}

function readGateway(issues: IssueList, data: unknown, cwd: string, env: Env): GatewayConfig {
  // An empty document (or only comments) is a valid config with no binds, as agentgateway.
  if (data === undefined || data === null) return { runtime: defaultRuntime(), binds: [], tracing: null };
  const m = MapReader.open(issues, '', data, { known: ['config', 'binds', 'frontendPolicies', 'gateways', 'routes', 'mcp'], unsupported: AGENTGATEWAY_ONLY });
  if (m === undefined) return { runtime: defaultRuntime(), binds: [], tracing: null };
  const runtime = readRuntime(issues, m.at('config'), m.value('config'), env);
  const frontend = m.value('frontendPolicies');
  const tracing = frontend === undefined ? null : readFrontendPolicies(issues, m.at('frontendPolicies'), frontend);
  if (tracing !== null && runtime.tracing !== null) {
    issues.add('frontendPolicies.tracing', 'cannot be used together with the deprecated config.tracing (move config.tracing here)');
  }
  return { runtime, binds: readListeningConfig(issues, m, cwd), tracing };
}

/** `binds` (agentgateway's deprecated model), and `gateways` with their `routes` and `mcp` (HEAD's). */
function readListeningConfig(issues: IssueList, m: MapReader, cwd: string): GatewayConfig['binds'] {
  const item = (key: string) => (m.has(key) ? { path: m.at(key), value: m.value(key) } : undefined);
  const binds = m.has('binds') ? readBinds(issues, m.at('binds'), m.value('binds'), cwd) : [];
  const taken = new Map(binds.map((b) => [b.port, `binds (${b.name})`]));
  return [...binds, ...readGateways(issues, { gateways: item('gateways'), routes: item('routes'), mcp: item('mcp') }, taken, cwd)];
}
