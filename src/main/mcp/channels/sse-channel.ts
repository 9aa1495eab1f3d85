// A legacy HTTP+SSE MCP server (2024-11-05): GET the SSE URL, wait for the `endpoint` event,
// then POST each message there; every answer arrives as an `event: message` on the GET stream.

import { request } from 'undici';
import { SseSplitter } from '../../../protocol/sse.js';
import type { Channel } from './channel.js';

export async function openSseChannel(url: URL, headers: Readonly<Record<string, string>>, timeoutMs: number): Promise<Channel> {
  const abort = new AbortController();
  const res = await request(url, {
    method: 'GET',
    headers: { ...headers, accept: 'text/event-stream' },
    signal: abort.signal,
    bodyTimeout: 0,
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`GET ${url.href} answered ${res.statusCode}`);
  }
  let closed = false;
  let endpoint: URL | null = null;
  const channel: Channel = {
    onMessage: () => {},
    onClose: () => {},
    send(text) {
      if (closed || endpoint === null) return false;
      request(endpoint, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: text })
        .then((r) => r.body.dump())
        .catch(() => channel.close());
      return true;
    },
    close() {
      if (closed) return;
      closed = true;
      abort.abort();
      channel.onClose('closed');
    },
    async closeAndWait() {
      channel.close();
    },
    get closed() {
      return closed;
    },
  };
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no endpoint event from ${url.href} within ${timeoutMs} ms`)), timeoutMs);
    const splitter = new SseSplitter();
    const decoder = new TextDecoder();
    res.body.on('data', (chunk: Buffer) => {
      for (const event of splitter.push(decoder.decode(chunk, { stream: true }))) {
        const type = event.lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? 'message';
        if (event.data === null) continue;
        if (type === 'endpoint') {
          endpoint = new URL(event.data.trim(), url);
          clearTimeout(timer);
          resolve();
        } else if (type === 'message') channel.onMessage(event.data);
      }
    });
    const end = (): void => {
      clearTimeout(timer);
      reject(new Error(`${url.href} closed the event stream`));
      if (!closed) {
        closed = true;
        channel.onClose('upstream closed the event stream');
      }
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
