// How one target's answer is treated, decided once its head is in: relayed as it comes, held
// whole to be filtered (JSON), rewritten event by event (SSE), or refused when policy must see it
// and cannot (compressed, or under an ambiguous content type).

import type { ListKind } from '../../protocol/worker-contract.js';
import { isEventStreamType } from '../../protocol/media-type.js';
import { replaceEventData } from '../../protocol/sse.js';
import type { HeaderList } from '../http/reply.js';
import { then } from '../maybe-async.js';
import type { AnswerMode, Collected } from './answer-relay.js';
import { prefixed, type McpDeps, type McpRequest } from './context.js';
import { tagServerRequest } from './server-requests.js';
import { filterList, listKindIn, prefixResourceUri, rememberedList } from './list-filter.js';

/** The mode for a 2xx answer of `target` to a request expecting `expected` (null: not a list). */
export function answerMode(m: McpRequest, deps: McpDeps, target: string, fields: HeaderList, expected: ListKind | null): AnswerMode {
  const rename = prefixed(m);
  // Every answer is looked at when policy applies, not only those to list requests: an upstream
  // that routes by JSON-RPC id can put a list on another request's answer (two requests of one
  // session with the same id), and it must not pass unjudged there either.
  if (m.route.mcpAuthorization === null && !rename) return { kind: 'relay' };
  // Every Content-Encoding field counts: a client applies the codings of all of them in order,
  // so `identity` first and `gzip` in a second field is a gzip body.
  const encoding = contentEncoding(fields);
  if (encoding !== undefined && encoding !== 'identity') {
    // We asked for identity; a compressed list cannot be filtered, so it is not relayed at all.
    return { kind: 'refuse', reason: `upstream sent a ${encoding}-encoded answer that must be filtered` };
  }
  const framing = answerFraming(fields);
  if (framing === 'ambiguous') {
    // A client may read it either way (the MCP SDK looks for the SSE type anywhere in the
    // field): it cannot be filtered for both readings, so it is not relayed at all.
    return { kind: 'refuse', reason: 'upstream sent an answer that must be filtered under an ambiguous content type' };
  }
  if (framing === 'events') {
    const multiplexed = m.targets.length > 1;
    return {
      kind: 'events',
      rewrite: async (event) => {
        if (event.data === null) return null;
        const kind = listKindIn(event.data, expected);
        const filtered = kind === null ? null : await filterList(m, deps, target, kind, event.data);
        // The server's own requests and resource notices on a call's stream, as on the merged GET stream.
        const renamed = rename ? prefixResourceUri(target, filtered ?? event.data) : filtered;
        const data = multiplexed ? tagServerRequest(target, renamed ?? event.data) : renamed;
        return data === null || data === event.data ? null : replaceEventData(event, data);
      },
    };
  }
  // JSON, or any other type a lenient client might still read as JSON (text/plain, none).
  return {
    kind: 'collect',
    finish: (bytes) => {
      // A list seen before is recognised in its bytes, and answered in bytes.
      const remembered = expected === null || bytes.length === 0 ? undefined : rememberedList(m, deps, target, expected, bytes);
      if (remembered !== undefined) return remembered === null ? asCollected : { body: remembered };
      const text = bytes.toString('utf8');
      const kind = listKindIn(text, expected);
      return kind === null ? asCollected : then(filterList(m, deps, target, kind, text), (body) => ({ body }));
    },
  };
}

/** An answer that is no list: sent as it came. */
const asCollected: Collected = { body: null };

/** How an answer that must be filtered is read: an event stream when its one Content-Type is
 * text/event-stream (isEventStreamType), as JSON when no type mentions the event-stream type (JSON,
 * or any other type a lenient client may still read as JSON), ambiguous otherwise: several types,
 * the event-stream type beside another one, or a value a client looking for the type anywhere in
 * the field (as the MCP SDK does) reads as a stream and the gateway does not (`text/event-streamx`,
 * `application/json; x=text/event-stream`). */
function answerFraming(fields: HeaderList): 'events' | 'json' | 'ambiguous' {
  let types = 0;
  let single = '';
  let mentionsEvents = false;
  for (const [k, v] of fields) {
    if (k !== 'content-type') continue;
    types++;
    single = v;
    if (v.toLowerCase().includes('text/event-stream')) mentionsEvents = true;
  }
  if (!mentionsEvents) return 'json';
  return types === 1 && isEventStreamType(single) ? 'events' : 'ambiguous';
}

/** The codings of all Content-Encoding fields, comma-joined as one value; `identity` only when
 * every field says just that. */
function contentEncoding(fields: HeaderList): string | undefined {
  let all: string | undefined;
  let identity = true;
  for (const [k, v] of fields) {
    if (k !== 'content-encoding') continue;
    all = all === undefined ? v : `${all}, ${v}`;
    if (v !== 'identity') identity = false;
  }
  return all === undefined || !identity ? all : 'identity';
}
