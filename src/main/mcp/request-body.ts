// The request's body as the relay needs it: read whole, or the client answered why not.

import type { BodyResult } from '../http/request.js';
import { then, type Maybe } from '../maybe-async.js';
import { Refusal } from '../refusals.js';
import { refuse, type McpRequest } from './context.js';

/** The body read whole; null when there is none, or it was not read whole and the client has
 * had its answer (an aborted one needs none: its client is gone). */
export function wholeBody(m: McpRequest): Maybe<Buffer | null> {
  return m.body === null ? null : then(m.body, (result) => bodyOf(m, result));
}

/** `next` with the body read whole, in one step after the body's promise; nothing when there is
 * none or it was not read whole (as wholeBody). */
export function withWholeBody(m: McpRequest, next: (body: Buffer) => Maybe<void>): Maybe<void> {
  if (m.body === null) return;
  return then(m.body, (result) => {
    const body = bodyOf(m, result);
    return body === null ? undefined : next(body);
  });
}

function bodyOf(m: McpRequest, result: BodyResult): Buffer | null {
  if (result.ok) return result.body;
  if (result.reason === 'too_large') refuse(m, new Refusal('GW_BODY_TOO_LARGE', 'Payload Too Large', { log: 'request body too large' }), null);
  else if (result.reason === 'busy') {
    const busy = new Refusal('GW_BUSY', 'Service Unavailable: the gateway holds too much for other requests; retry', { headers: [['retry-after', '1']], log: 'buffer budget exhausted' });
    refuse(m, busy, null);
  }
  return null;
}
