// A server's own requests (sampling, elicitation, roots) on a route with several targets: each
// server numbers its requests itself, so the client sees their ids tagged with the target, and
// its answer goes back to that target alone, under the id that server chose.

import type { JsonRpcId } from '../../protocol/jsonrpc.js';
import { replaceMessageId } from '../../protocol/message-id.js';
import type { UpstreamTarget } from '../upstream/target.js';
import { isRecord } from '../../protocol/is-record.js';

/** Separates the target from a server's own request id as the client sees it. */
const requestIdSeparator = '~';

/**
 * A server's own request (sampling, elicitation, roots) as the client of several targets sees
 * it: its id tagged with the target (`<target>~<id as JSON>`), so the client's answer goes back
 * to that target alone (untagAnswer), under the id it chose. Each server numbers its requests
 * itself: untagged, two targets' requests share ids, and an answer sent to every target reached
 * one that never asked. Any other message is returned unchanged.
 */
export function tagServerRequest(target: string, text: string): string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return text;
  }
  if (!isRecord(v) || typeof v['method'] !== 'string') return text;
  const id = v['id'];
  if (typeof id !== 'string' && typeof id !== 'number') return text;
  return replaceMessageId(text, `${target}${requestIdSeparator}${JSON.stringify(id)}`) ?? text;
}

/** The target a client's answer (a JSON-RPC response) is for and the answer under that server's
 * own id; null when its id is no tag of tagServerRequest's naming one of the targets. */
export function untagAnswer(targets: readonly UpstreamTarget[], id: JsonRpcId | null, text: string): { target: UpstreamTarget; body: Buffer } | null {
  if (typeof id !== 'string') return null;
  const at = id.indexOf(requestIdSeparator);
  const target = at > 0 ? targets.find((t) => t.name === id.slice(0, at)) : undefined;
  if (target === undefined) return null;
  let original: unknown;
  try {
    original = JSON.parse(id.slice(at + 1));
  } catch {
    return null;
  }
  if (typeof original !== 'string' && typeof original !== 'number') return null;
  const body = replaceMessageId(text, original);
  return body === null ? null : { target, body: Buffer.from(body) };
}
