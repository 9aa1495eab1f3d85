// The request's body as the relay needs it: read whole, or the client answered why not.

import { send, type McpRequest } from './context.js';

/** The body read whole; null when there is none, or it was not read whole and the client has
 * had its answer (an aborted one needs none: its client is gone). */
export async function wholeBody(m: McpRequest): Promise<Buffer | null> {
  const result = m.body === null ? null : await m.body;
  if (result === null) return null;
  if (result.ok) return result.body;
  if (result.reason === 'too_large') {
    m.record.error = 'request body too large';
    send(m, 413, [['content-type', 'text/plain']], 'Payload Too Large');
  } else if (result.reason === 'busy') {
    m.record.error = 'buffer budget exhausted';
    send(m, 503, [['content-type', 'text/plain'], ['retry-after', '1']], 'Service Unavailable: the gateway holds too much for other requests; retry');
  }
  return null;
}
