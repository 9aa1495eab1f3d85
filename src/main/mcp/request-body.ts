// The request's body as the relay needs it: read whole, or the client answered why not.

import { Refusal } from '../refusals.js';
import { refuse, type McpRequest } from './context.js';

/** The body read whole; null when there is none, or it was not read whole and the client has
 * had its answer (an aborted one needs none: its client is gone). */
export async function wholeBody(m: McpRequest): Promise<Buffer | null> {
  const result = m.body === null ? null : await m.body;
  if (result === null) return null;
  if (result.ok) return result.body;
  if (result.reason === 'too_large') refuse(m, new Refusal('GW_BODY_TOO_LARGE', 'Payload Too Large', { log: 'request body too large' }), null);
  else if (result.reason === 'busy') {
    const busy = new Refusal('GW_BUSY', 'Service Unavailable: the gateway holds too much for other requests; retry', { headers: [['retry-after', '1']], log: 'buffer budget exhausted' });
    refuse(m, busy, null);
  }
  return null;
}
