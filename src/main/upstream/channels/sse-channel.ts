// A legacy HTTP+SSE MCP server (2024-11-05): GET the SSE URL, wait for the `endpoint` event,
// then POST each message there; every answer arrives as an `event: message` on the GET stream.

import { request, type Dispatcher } from 'undici';
import { SseSplitter, type SseEvent } from '../../../protocol/sse.js';
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
  const channel = new SseChannel(url, headers, log, dispatcher);
  try {
    await channel.open(timeoutMs);
  } catch (err) {
    channel.close();
    throw err;
  }
  return channel;
}

type EventStream = Dispatcher.ResponseData['body'];

class SseChannel implements Channel {
  onMessage: (text: string) => void = () => {};
  onClose: (reason: string) => void = () => {};
  readonly #url: URL;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #log: (line: string) => void;
  readonly #via: { readonly dispatcher?: Dispatcher };
  readonly #abort = new AbortController();
  /** what the log and errors name: the URL as configured may carry a key */
  readonly #shown: string;
  #closed = false;
  #endpoint: URL | null = null;
  /** POSTs sent and not yet answered */
  #posting = 0;

  constructor(url: URL, headers: Readonly<Record<string, string>>, log: (line: string) => void, dispatcher: Dispatcher | undefined) {
    this.#url = url;
    this.#headers = headers;
    this.#log = log;
    this.#via = dispatcher === undefined ? {} : { dispatcher };
    this.#shown = redactUrl(url.href);
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(text: string): boolean {
    if (this.#closed || this.#endpoint === null) return false;
    if (this.#posting >= maxPostsInFlight) {
      // The server stopped taking messages: what clients send would pile up in the gateway
      // (a notification is answered 202 at once). The session ends.
      this.#log(`${this.#shown}: session closed: ${maxPostsInFlight} messages posted and not yet accepted`);
      this.#fail(`${this.#shown} does not take the messages posted to it`);
      return false;
    }
    this.#posting++;
    request(this.#endpoint, { method: 'POST', headers: { ...this.#headers, 'content-type': 'application/json' }, body: text, ...this.#via })
      .then((r) => r.body.dump())
      .catch(() => this.close())
      .finally(() => this.#posting--);
    return true;
  }

  close(): void {
    this.#fail('closed');
  }

  async closeAndWait(): Promise<void> {
    this.close();
  }

  /** GETs the event stream; resolves once it names the endpoint to POST to. */
  async open(timeoutMs: number): Promise<void> {
    const res = await request(this.#url, {
      method: 'GET',
      headers: { ...this.#headers, accept: 'text/event-stream' },
      signal: this.#abort.signal,
      bodyTimeout: 0,
      ...this.#via,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`GET ${this.#shown} answered ${res.statusCode}`);
    }
    await new Promise<void>((resolve, reject) => this.#read(res.body, timeoutMs, resolve, reject));
  }

  #fail(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.onClose(reason);
  }

  /** Reads the event stream for as long as it lasts: `ready` once the endpoint is known. */
  #read(body: EventStream, timeoutMs: number, ready: () => void, failed: (err: Error) => void): void {
    const timer = setTimeout(() => failed(new Error(`no endpoint event from ${this.#shown} within ${timeoutMs} ms`)), timeoutMs);
    const splitter = new SseSplitter();
    const decoder = new TextDecoder();
    const broken = (reason: string): void => {
      this.#log(`${this.#shown}: session closed: ${reason}`);
      clearTimeout(timer);
      failed(new Error(`${this.#shown}: ${reason}`));
      this.#fail(reason);
    };
    // A throw from a stream listener is uncaught: it would end the process, not the session.
    body.on('data', (chunk: Buffer) => {
      try {
        for (const event of splitter.push(decoder.decode(chunk, { stream: true }))) {
          if (this.#closed) return;
          const problem = this.#event(event);
          if (problem !== null) return broken(problem);
          if (this.#endpoint !== null) {
            clearTimeout(timer);
            ready();
          }
        }
      } catch (err) {
        broken(`event stream failed: ${errorText(err)}`);
      }
    });
    const end = (): void => {
      clearTimeout(timer);
      failed(new Error(`${this.#shown} closed the event stream`));
      this.#fail('upstream closed the event stream');
    };
    body.on('end', end);
    body.on('error', end);
  }

  /** Takes one event: the endpoint, or a message for the session. Returns why the stream is
   * unusable, or null. */
  #event(event: SseEvent): string | null {
    if (event.data === null) return null;
    const type = event.lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? 'message';
    if (type === 'endpoint') {
      const next = endpointUrl(event.data, this.#url);
      if (typeof next === 'string') return `endpoint event is ${next}`;
      this.#endpoint = next;
    } else if (type === 'message') this.onMessage(event.data);
    return null;
  }
}
