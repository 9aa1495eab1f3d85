// Dropping an upstream body we will not read.

import type { Readable } from 'node:stream';

/** The listener matters: undici reports the abort as an 'error' event, and an unheard 'error'
 * event ends the process. */
export function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}
