// Calls of one named tool, prompt or resource: which target it is for (names are prefixed
// `<target>_<name>`, resources `<target>+<uri>`, when a route has several targets), and whether
// the route's rules let this caller make it.

import type { McpCelContext } from '../../protocol/worker-contract.js';
import type { ParsedMessage } from '../../protocol/jsonrpc.js';
import type { CallTarget } from '../../protocol/mcp.js';
import type { Maybe } from '../maybe-async.js';
import type { UpstreamTarget } from '../upstream/target.js';
import { prefixed, type McpDeps, type McpRequest } from './context.js';
import { isRecord } from '../../protocol/is-record.js';

/** The target a call is for and the name that target knows it by; null when none matches. */
export function resolveTarget(m: McpRequest, call: CallTarget): { target: UpstreamTarget; name: string } | null {
  if (!prefixed(m)) {
    const only = m.targets[0];
    return only === undefined ? null : { target: only, name: call.name };
  }
  const sep = call.kind === 'resource' ? '+' : '_';
  const at = call.name.indexOf(sep);
  if (at <= 0) return null;
  const target = m.targets.find((t) => t.name === call.name.slice(0, at));
  return target === undefined ? null : { target, name: call.name.slice(at + 1) };
}

/** The message re-written to name the call as its target knows it. The whole body is parsed
 * only here, where it is re-written (it was checked already: valid JSON, no name twice). */
export function rewriteCallName(body: Buffer, message: ParsedMessage, call: CallTarget, name: string): Buffer {
  if (message.kind !== 'request') throw new TypeError('only requests carry call targets');
  const value: unknown = JSON.parse(body.toString('utf8'));
  const given = isRecord(value) ? value['params'] : undefined;
  const sent = isRecord(given) ? given : null;
  const key = call.kind === 'resource' ? 'uri' : 'name';
  const ref = sent?.['ref'];
  const params =
    message.method === 'completion/complete' && typeof ref === 'object' && ref !== null
      ? { ...sent, ref: { ...ref, [key]: name } }
      : { ...sent, [key]: name };
  return Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: message.id, method: message.method, params }));
}

/** Whether the route's mcpAuthorization rules allow the call. */
export function allowCall(m: McpRequest, deps: McpDeps, method: string, call: CallTarget, target: string, name: string): Maybe<boolean> {
  const mcp: McpCelContext = { method, [call.kind]: { name, target } };
  return deps.authorization.allowCall(m.route.mcpAuthorization, m, mcp);
}
