// mcpAuthentication `resourceMetadata`: a free-form map of extra members for the RFC 9728
// protected-resource metadata document. It is kept as written (the gateway converts the keys to
// snake_case when it serves the document), but it must be plain JSON data, `resource` must be a
// URL (the 401 challenge takes its origin from it), and `scopesSupported` must be a list of
// strings: those become the scopes advertised in the challenge.

import { isHttpUrl } from './http-syntax.js';
import { type IssueList, asStringList, indexPath, isPlainObject, keyPath } from './schema-reader.js';

export interface ResourceMetadata {
  readonly members: Readonly<Record<string, unknown>>;
  readonly scopes: readonly string[];
}

export const NO_RESOURCE_METADATA: ResourceMetadata = { members: {}, scopes: [] };

/** `scopesSupported` → `scopes_supported`: metadata members are served in RFC 9728's spelling (policy/protected-resource.ts uses this too). */
export function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

export function readResourceMetadata(issues: IssueList, path: string, value: unknown): ResourceMetadata | undefined {
  if (!isPlainObject(value)) {
    issues.add(path, 'expected a mapping');
    return undefined;
  }
  const before = issues.count;
  const members: Array<[string, unknown]> = [];
  const bySnake = new Map<string, string>();
  let scopes: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const at = keyPath(path, key);
    const snake = snakeCase(key);
    const other = bySnake.get(snake);
    if (other !== undefined) {
      issues.add(at, `names the same metadata member as ${JSON.stringify(other)} (${snake}; keys are converted to snake_case)`);
      continue;
    }
    bySnake.set(snake, key);
    if (!checkPlainData(issues, at, v)) continue;
    if (snake === 'resource' && (typeof v !== 'string' || !isHttpUrl(v))) {
      issues.add(at, 'expected an http or https URL (the protected resource)');
    } else if (snake === 'scopes_supported') {
      scopes = asStringList(issues, at, v) ?? [];
    }
    members.push([key, v]);
  }
  // fromEntries defines own properties, so a `__proto__` key stays data
  return issues.count === before ? { members: Object.fromEntries(members), scopes } : undefined;
}

/** Strings, finite numbers, booleans, null, lists and plain mappings: what the JSON document can carry. */
function checkPlainData(issues: IssueList, path: string, value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return true;
    issues.add(path, 'expected a finite number');
    return false;
  }
  if (Array.isArray(value)) {
    const list: readonly unknown[] = value;
    return list.map((v, i) => checkPlainData(issues, indexPath(path, i), v)).every(Boolean);
  }
  if (isPlainObject(value)) {
    return Object.entries(value)
      .map(([k, v]) => checkPlainData(issues, keyPath(path, k), v))
      .every(Boolean);
  }
  issues.add(path, 'expected plain data (strings, numbers, booleans, null, lists and mappings)');
  return false;
}
