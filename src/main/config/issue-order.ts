// The readers report issues in the order they visit keys, which is not the order of the file.
// Users read a config top to bottom, so issues are re-ordered by where their path points in the
// YAML source (a path to a missing key sorts at its nearest written ancestor).

import { type Document, isMap, isNode, isScalar, isSeq } from 'yaml';
import type { ConfigIssue } from './types.js';

/** The segments of a path written by schema-reader's keyPath/indexPath; undefined for `<root>`, `line 3` and such. */
function pathSegments(path: string): (string | number)[] | undefined {
  const segment = /\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  const out: (string | number)[] = [];
  while (segment.lastIndex < path.length) {
    const m = segment.exec(path);
    if (m === null) return undefined;
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else {
      const key: unknown = JSON.parse(m[3] ?? '""');
      if (typeof key !== 'string') return undefined;
      out.push(key);
    }
  }
  return out;
}

/** Source offset of the deepest node the path reaches; -1 when it reaches none. */
function offsetOf(doc: Document, path: string): number {
  const segments = pathSegments(path);
  if (segments === undefined) return -1;
  let node: unknown = doc.contents;
  let offset = isNode(node) ? (node.range?.[0] ?? -1) : -1;
  for (const seg of segments) {
    if (typeof seg === 'string' && isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : p.key) === seg);
      if (pair === undefined) break;
      if (isNode(pair.key)) offset = pair.key.range?.[0] ?? offset;
      node = pair.value;
    } else if (typeof seg === 'number' && isSeq(node)) {
      const item: unknown = node.items[seg];
      if (!isNode(item)) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset;
}

export function inDocumentOrder(issues: readonly ConfigIssue[], doc: Document): ConfigIssue[] {
  return issues
    .map((issue, index) => ({ issue, index, at: offsetOf(doc, issue.path) }))
    .sort((a, b) => a.at - b.at || a.index - b.index)
    .map((x) => x.issue);
}
