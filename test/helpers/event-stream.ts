// Reading an HTTP answer as Server-Sent Events while it is still arriving (mcpFetch waits for the
// whole body): for tests that cut a stream after some event, or read a stream that never ends.

export interface StreamEvent {
  /** the event's raw lines, as received */
  readonly lines: readonly string[];
  /** `id:` value, if the event has one */
  readonly id: string | undefined;
  /** `event:` value, if any */
  readonly event: string | undefined;
  /** `retry:` value, if any */
  readonly retry: string | undefined;
  /** the joined `data:` lines; null when the event has none (a comment) */
  readonly data: string | null;
  /** data parsed as JSON, when it is a JSON object */
  readonly message: Record<string, unknown> | null;
}

export interface EventStream {
  readonly status: number;
  readonly headers: Headers;
  /** every event read so far */
  readonly events: readonly StreamEvent[];
  /** Reads events until one matches; resolves with it. Rejects when the stream ends first or on timeout. */
  until(match: (e: StreamEvent) => boolean, timeoutMs?: number): Promise<StreamEvent>;
  /** Cuts the connection (client side). */
  close(): void;
}

function parseBlock(block: string): StreamEvent {
  const lines = block.split(/\r\n|\n|\r/);
  const field = (name: string): string | undefined => {
    const line = lines.find((l) => l === name || l.startsWith(`${name}:`));
    return line === undefined ? undefined : line.slice(name.length + 1).replace(/^ /, '');
  };
  const dataLines = lines.filter((l) => l === 'data' || l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, ''));
  const data = dataLines.length === 0 ? null : dataLines.join('\n');
  let message: Record<string, unknown> | null = null;
  if (data !== null && data !== '') {
    try {
      const v: unknown = JSON.parse(data);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) message = v as Record<string, unknown>;
    } catch {
      message = null;
    }
  }
  return { lines, id: field('id'), event: field('event'), retry: field('retry'), data, message };
}

/** fetch(url, init) and read the answer's body as an event stream. */
export async function openEventStream(url: string, init: RequestInit): Promise<EventStream> {
  const abort = new AbortController();
  const res = await fetch(url, { ...init, signal: abort.signal });
  const events: StreamEvent[] = [];
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  let readIndex = 0;

  async function readMore(): Promise<void> {
    if (reader === undefined || ended) {
      ended = true;
      return;
    }
    let value: Uint8Array | undefined;
    try {
      const chunk = await reader.read();
      value = chunk.done ? undefined : chunk.value;
    } catch {
      value = undefined;
    }
    if (value === undefined) {
      ended = true;
      return;
    }
    buffer += decoder.decode(value, { stream: true });
    for (;;) {
      const m = /\r\n\r\n|\n\n|\r\r/.exec(buffer);
      if (m === null) break;
      events.push(parseBlock(buffer.slice(0, m.index)));
      buffer = buffer.slice(m.index + m[0].length);
    }
  }

  return {
    status: res.status,
    headers: res.headers,
    events,
    async until(match, timeoutMs = 15_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no matching event within ${timeoutMs} ms; events so far:\n${events.map((e) => e.lines.join('\\n')).join('\n')}`));
        }, timeoutMs);
      });
      try {
        for (;;) {
          while (readIndex < events.length) {
            const e = events[readIndex++]!;
            if (match(e)) return e;
          }
          if (ended) throw new Error(`stream ended without a matching event; events:\n${events.map((e) => e.lines.join('\\n')).join('\n')}`);
          await Promise.race([readMore(), timeout]);
        }
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      abort.abort();
      reader?.cancel().catch(() => {});
    },
  };
}

/** Reads a body stream until `text` has been received (or the stream ends); returns everything read. */
export async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, text: string): Promise<string> {
  const decoder = new TextDecoder();
  let got = '';
  while (!got.includes(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    got += decoder.decode(value, { stream: true });
  }
  return got;
}
