// Cheap runtime shape checks for frames decoded off the wire.
import type { CelContext, ListKind, WorkerInit, WorkerTask } from '../protocol/worker-contract.js';
import { isRecord } from '../protocol/is-record.js';

function isStringRecord(value: unknown): boolean {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}

function isRef(value: unknown): boolean {
  return value === undefined || (isRecord(value) && typeof value['name'] === 'string' && typeof value['target'] === 'string');
}

const LIST_KINDS: ReadonlySet<unknown> = new Set<ListKind>(['tools', 'prompts', 'resources', 'resourceTemplates']);

export function isCelContext(value: unknown): value is CelContext {
  if (!isRecord(value)) return false;
  const { jwt, mcp, request, source } = value;
  if (jwt !== null && !isRecord(jwt)) return false;
  if (mcp !== null) {
    if (!isRecord(mcp)) return false;
    if (mcp['method'] !== undefined && typeof mcp['method'] !== 'string') return false;
    if (!isRef(mcp['tool']) || !isRef(mcp['prompt']) || !isRef(mcp['resource'])) return false;
  }
  if (request !== null) {
    if (!isRecord(request)) return false;
    const { method, path, host, headers } = request;
    if (typeof method !== 'string' || typeof path !== 'string' || typeof host !== 'string') return false;
    if (!isStringRecord(headers)) return false;
  }
  if (source !== null) {
    if (!isRecord(source) || typeof source['address'] !== 'string' || typeof source['port'] !== 'number') return false;
  }
  return true;
}

export function isWorkerTask(value: unknown): value is WorkerTask {
  if (!isRecord(value)) return false;
  switch (value['op']) {
    case 'verify':
      return typeof value['providerSet'] === 'number' && typeof value['token'] === 'string' && typeof value['now'] === 'number';
    case 'decide':
      return typeof value['ruleSet'] === 'number' && isCelContext(value['ctx']);
    case 'filter':
      return (
        typeof value['ruleSet'] === 'number' &&
        isCelContext(value['ctx']) &&
        LIST_KINDS.has(value['list']) &&
        typeof value['target'] === 'string' &&
        typeof value['prefix'] === 'boolean' &&
        typeof value['body'] === 'string'
      );
    default:
      return false;
  }
}

/** Top-level shape of a WorkerInit; keys and rules are checked again when imported/compiled. */
export function isWorkerInit(value: unknown): value is WorkerInit {
  if (!isRecord(value) || typeof value['generation'] !== 'number' || typeof value['listCacheChars'] !== 'number') return false;
  const { providerSets, ruleSets } = value;
  if (!Array.isArray(providerSets) || !Array.isArray(ruleSets)) return false;
  const setsOk = providerSets.every(
    (s: unknown) =>
      isRecord(s) &&
      typeof s['id'] === 'number' &&
      typeof s['leewaySeconds'] === 'number' &&
      Array.isArray(s['requiredClaims']) &&
      s['requiredClaims'].every((c: unknown) => typeof c === 'string') &&
      Array.isArray(s['providers']) &&
      s['providers'].every(
        (p: unknown) =>
          isRecord(p) &&
          typeof p['issuer'] === 'string' &&
          (p['audiences'] === null || (Array.isArray(p['audiences']) && p['audiences'].every((a: unknown) => typeof a === 'string'))) &&
          Array.isArray(p['keys']) &&
          p['keys'].every((k: unknown) => isRecord(k) && typeof k['kty'] === 'string'),
      ),
  );
  const rulesOk = ruleSets.every(
    (s: unknown) =>
      isRecord(s) &&
      typeof s['id'] === 'number' &&
      Array.isArray(s['rules']) &&
      s['rules'].every(
        (r: unknown) =>
          isRecord(r) && (r['kind'] === 'allow' || r['kind'] === 'deny' || r['kind'] === 'require') && typeof r['expr'] === 'string',
      ),
  );
  return setsOk && rulesOk;
}
