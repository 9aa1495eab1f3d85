// Relaying an upstream body to the client: bytes straight through with back-pressure both
// ways, or, for event streams whose list results must be filtered, event by event with every
// other event (priming events, progress, server requests, `id:`/`retry:` lines) left intact.

import type { Readable } from 'node:stream';
import type { HeaderList, ResponseSink as Reply } from '../http/reply.js';
import { SseSplitter, replaceEventData, type SseEvent } from '../../protocol/sse.js';

/** Drops an upstream body we will not read. The listener matters: undici reports the abort as
 * an 'error' event, and an unheard 'error' event ends the process. */
export function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

function drained(reply: Reply): Promise<void> {
  return new Promise((resolve) => {
    reply.onDrain(resolve);
    reply.onClose(() => resolve());
  });
}

/** Streams `body` to the client; ends the reply when the body ends. */
export async function pipeBody(reply: Reply, status: number, headers: HeaderList, body: Readable): Promise<void> {
  const eventStream = headers.some(([k, v]) => k === 'content-type' && v.startsWith('text/event-stream'));
  if (eventStream) reply.headStream(status, headers);
  else reply.head(status, headers);
  try {
    for await (const chunk of body) {
      if (!reply.open) break;
      if (!(chunk instanceof Uint8Array)) continue;
      if (!reply.write(chunk)) await drained(reply);
    }
  } catch {
    // The upstream broke mid-body: the client must see a broken response, not a clean end.
    discard(body);
    reply.destroy();
    return;
  }
  if (!reply.open) {
    discard(body);
    return;
  }
  reply.finish();
}

/** Returns the replacement text of an event, or null to pass it through unchanged. */
export type EventRewriter = (event: SseEvent) => Promise<string | null>;

export async function pipeEventStream(reply: Reply, status: number, headers: HeaderList, body: Readable, rewrite: EventRewriter): Promise<void> {
  reply.headStream(status, headers);
  const splitter = new SseSplitter();
  const decoder = new TextDecoder();
  try {
    for await (const chunk of body) {
      if (!reply.open) break;
      if (!(chunk instanceof Uint8Array)) continue;
      let out = '';
      for (const event of splitter.push(decoder.decode(chunk, { stream: true }))) {
        const replaced = event.data === null ? null : await rewrite(event);
        out += replaced === null ? `${event.lines.join('\n')}\n\n` : replaced;
      }
      if (out !== '' && !reply.write(out)) await drained(reply);
    }
  } catch {
    discard(body);
    reply.destroy();
    return;
  }
  if (!reply.open) {
    discard(body);
    return;
  }
  const rest = splitter.rest() + decoder.decode();
  if (rest !== '') reply.write(rest);
  reply.finish();
}

export { replaceEventData };
