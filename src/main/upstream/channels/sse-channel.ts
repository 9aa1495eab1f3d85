// A legacy HTTP+SSE MCP server (2024-11-05): GET the SSE URL, wait for the `endpoint` event,
// then POST each message there; every answer arrives as an `event: message` on the GET stream.

import { request, type Dispatcher } from 'undici';
import { SseSplitter } from '../../../protocol/sse.js';
import { redactUrl } from '../../log/redact.js';
import type { Channel } from './channel.js';
import { errorText } from '../../../protocol/errors.js';

/** Where an `endpoint` event says to POST (absolute, or relative to the SSE URL), or why it
 * cannot be used: undici refuses other schemes by throwing, and another origin would receive
 * the client's forwarded headers (its token, under backendAuth passthrough) on the word of the
 * event stream alone; the MCP TypeScript SDK's client refuses it too. */
function endpointUrl(data: string, base: URL): URL | string {
  const text = data.trim();
  const shown = JSON.stringify(text.slice(0, 100));
  if (!URL.canParse(text, base.href)) return `not a valid URL: ${shown}`;
  const parsed = new URL(text, base);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `not an http(s) URL: ${shown}`;
  return parsed.origin === base.origin ? parsed : `on another origin than ${base.origin}: ${shown}`;
}

/** POSTs to a legacy server not yet answered, past which the session is taken as stuck. */
const maxPostsInFlight = 256;

export async function openSseChannel(
  url: URL,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number,
  log: (line: string) => void,
  dispatcher?: Dispatcher,
): Promise<Channel> {
  const via = dispatcher === undefined ? {} : { dispatcher };
  const abort = new AbortController();
  // What the log and errors name: the URL as configured may carry a key.
  const shown = redactUrl(url.href);
  const res = await request(url, {
    method: 'GET',
    headers: { ...headers, accept: 'text/event-stream' },
    signal: abort.signal,
    bodyTimeout: 0,
    ...via,
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`GET ${shown} answered ${res.statusCode}`);
  }
  let closed = false;
  let endpoint: URL | null = null;
  /** POSTs sent and not yet answered */
  let posting = 0;
  const fail = (reason: string): void => {
    if (closed) return;
    closed = true;
    abort.abort();
    channel.onClose(reason);
  };
  const channel: Channel = {
    onMessage: () => {},
    onClose: () => {},
    send(text) {
      if (closed || endpoint === null) return false;
      if (posting >= maxPostsInFlight) {
        // The server stopped taking messages: what clients send would pile up in the gateway
        // (a notification is answered 202 at once). The session ends.
        log(`${shown}: session closed: ${maxPostsInFlight} messages posted and not yet accepted`);
        fail(`${shown} does not take the messages posted to it`);
        return false;
      }
      posting++;
      request(endpoint, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: text, ...via })
        .then((r) => r.body.dump())
        .catch(() => channel.close())
        .finally(() => posting--);
      return true;
    },
    close() {
      fail('closed');
    },
    async closeAndWait() {
      channel.close();
    },
    get closed() {
      return closed;
    },
  };
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no endpoint event from ${shown} within ${timeoutMs} ms`)), timeoutMs);
    const splitter = new SseSplitter();
    const decoder = new TextDecoder();
    const broken = (reason: string): void => {
      log(`${shown}: session closed: ${reason}`);
      clearTimeout(timer);
      reject(new Error(`${shown}: ${reason}`));
      fail(reason);
    };
    // A throw from a stream listener is uncaught: it would end the process, not the session.
    res.body.on('data', (chunk: Buffer) => {
      try {
        for (const event of splitter.push(decoder.decode(chunk, { stream: true }))) {
          if (closed) return;
          const type = event.lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? 'message';
          if (event.data === null) continue;
          if (type === 'endpoint') {
            const next = endpointUrl(event.data, url);
            if (typeof next === 'string') {
              broken(`endpoint event is ${next}`);
              return;
            }
            endpoint = next;
            clearTimeout(timer);
            resolve();
          } else if (type === 'message') channel.onMessage(event.data);
        }
      } catch (err) {
        broken(`event stream failed: ${errorText(err)}`);
      }
    });
    const end = (): void => {
      clearTimeout(timer);
      reject(new Error(`${shown} closed the event stream`));
      fail('upstream closed the event stream');
    };
    res.body.on('end', end);
    res.body.on('error', end);
  });
  try {
    await ready;
  } catch (err) {
    channel.close();
    throw err;
  }
  return channel;
}
