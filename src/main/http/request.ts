// A synchronous copy of what we need from a uWS request (it is stack-allocated and gone after
// the handler returns), and a body reader with a size cap.

import type { FrontRequest, FrontResponse } from './front.js';
import type { ByteAccount } from './byte-budget.js';
import { formatPeerAddress } from './address.js';

export interface RequestSnapshot {
  /** upper case, e.g. `POST` */
  readonly method: string;
  /** path without the query */
  readonly path: string;
  /** raw query string, without `?` ('' when none) */
  readonly query: string;
  /** Host header without the port */
  readonly host: string;
  /** all headers, names lower-cased, in arrival order */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly remoteAddress: string;
  /** high-resolution start time, ms */
  readonly startedAt: number;
}

export function snapshotRequest(req: FrontRequest, res: FrontResponse): RequestSnapshot {
  const headers: Array<readonly [string, string]> = [];
  // The first Host field, as getHeader would give it, without another call into uWS.
  let hostHeader = '';
  let hostSeen = false;
  req.forEach((k, v) => {
    headers.push([k, v]);
    if (!hostSeen && k === 'host') {
      hostHeader = v;
      hostSeen = true;
    }
  });
  return {
    method: req.getCaseSensitiveMethod().toUpperCase(),
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    host: stripPort(hostHeader),
    headers,
    remoteAddress: formatPeerAddress(res.getRemoteAddress()),
    startedAt: performance.now(),
  };
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

/**
 * Why the request's body framing is ambiguous, or null. uWS takes the first of several
 * Content-Length fields, and any Transfer-Encoding at all (`xchunked`, `chunked, identity`,
 * `gzip, chunked`) as plain chunked; a proxy in front that read either another way would read a
 * different body, and the rest of the bytes as a different next request (request smuggling,
 * RFC 9112 §6.1, §6.3 and §11.2). So the only transfer coding taken is one field saying exactly
 * `chunked`; anything else is refused and its connection closed, before anything is forwarded.
 */
export function ambiguousFraming(headers: ReadonlyArray<readonly [string, string]>): string | null {
  let length: string | null = null;
  let chunked = false;
  for (const [k, v] of headers) {
    if (k === 'transfer-encoding') {
      if (chunked) return 'several Transfer-Encoding fields';
      if (v.trim().toLowerCase() !== 'chunked') return 'a Transfer-Encoding other than chunked';
      chunked = true;
    } else if (k === 'content-length') {
      // Each comma-separated value, as split(',') would give them, without its array.
      for (let from = 0; ; ) {
        const comma = v.indexOf(',', from);
        const value = v.slice(from, comma < 0 ? v.length : comma).trim();
        if (length !== null && value !== length) return 'conflicting Content-Length fields';
        length = value;
        if (comma < 0) break;
        from = comma + 1;
      }
    }
  }
  return chunked && length !== null ? 'both Transfer-Encoding and Content-Length' : null;
}

export function headerValue(snapshot: RequestSnapshot, name: string): string | undefined {
  for (const [k, v] of snapshot.headers) if (k === name) return v;
  return undefined;
}

/** A field's copies comma-joined in arrival order (RFC 9110 §5.3): the one value the upstream
 * receives, so what a route match or a rule judges is what the upstream will see. */
export function joinedHeader(headers: ReadonlyArray<readonly [string, string]>, name: string): string | undefined {
  let out: string | undefined;
  for (const [k, v] of headers) if (k === name) out = out === undefined ? v : `${out}, ${v}`;
  return out;
}

/** Every field as joinedHeader gives it: CEL's `request.headers`. */
export function joinedHeaders(headers: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const joined = new Map<string, string>();
  for (const [k, v] of headers) {
    const prev = joined.get(k);
    joined.set(k, prev === undefined ? v : `${prev}, ${v}`);
  }
  // fromEntries defines own properties: a `__proto__` header stays a header.
  return Object.fromEntries(joined);
}

/** `busy`: the gateway-wide buffer budget could not hold the body (byte-budget.ts). */
export type BodyResult = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly reason: 'too_large' | 'busy' | 'aborted' };

/** Collects the request body. Must be called in the handler's synchronous part. Chunks are
 * copied (uWS neuters them on return) and joined once at the end; what is held counts against
 * `held` (the caller gives it back when the request is done). */
export function readBody(res: FrontResponse, limit: number, held: ByteAccount, onAbort: (cb: () => void) => void): Promise<BodyResult> {
  return new Promise((resolve) => {
    let chunks: Buffer[] = [];
    let size = 0;
    /** bytes of `chunks`, counted against the budget */
    let holding = 0;
    let done = false;
    /** Not read whole: what was held is let go and given back at once, and later chunks are
     * dropped as they come. */
    const stop = (reason: 'too_large' | 'busy' | 'aborted'): void => {
      done = true;
      chunks = [];
      held.give(holding);
      holding = 0;
      resolve({ ok: false, reason });
    };
    onAbort(() => {
      if (!done) stop('aborted');
    });
    res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > limit) stop('too_large');
      // Refused too once the request is done (a refusal answered before the body was read):
      // its late bytes are dropped, never counted.
      else if (!held.take(chunk.byteLength)) stop('busy');
      if (done) return;
      holding += chunk.byteLength;
      if (isLast) {
        done = true;
        if (chunks.length === 0) resolve({ ok: true, body: copyOf(chunk) });
        else {
          chunks.push(copyOf(chunk));
          resolve({ ok: true, body: Buffer.concat(chunks, size) });
        }
      } else {
        chunks.push(copyOf(chunk));
      }
    });
  });
}

/** A chunk's bytes in a Buffer of their own. Copied through a view, so a small body lands in
 * Node's shared Buffer pool; `ArrayBuffer.slice` would give every chunk a backing store of its
 * own, allocated and later freed outside the JS heap. */
function copyOf(chunk: ArrayBuffer): Buffer {
  return Buffer.from(new Uint8Array(chunk));
}

/** A percent-decoded URL component, or null where the encoding is malformed (`%zz`, a lone
 * `%E0`): decodeURIComponent throws then, and a request's handling must not. */
export function decodeComponent(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
