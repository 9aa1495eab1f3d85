// A request's bytes: the head built once as one latin1 string (what undici writes, in its order:
// request line, host, connection, the fields, content-length), and the body after it. The requests
// a connection writes in one turn go in one buffer, each body copied behind its head (a large
// body is written on its own instead): one write and one Buffer for all of them. A field that
// could split the request (CR, LF, NUL or another control character in a value, a name that is
// not a token) refuses the whole request: nothing is sent.

import { H1Error } from './errors.js';

export type RequestMethod = 'POST' | 'GET' | 'DELETE';

export interface RequestParts {
  readonly method: RequestMethod;
  /** path and query, already checked (see validPath) */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** held until the connection writes it (a later turn, or after the queue): must not change
   * once handed over */
  readonly body: Buffer | null;
}

export interface RequestBytes {
  /** the head, one byte per character */
  readonly head: string;
  /** the body (null when empty) */
  readonly body: Buffer | null;
  /** the request asks for the connection to close after it (`connection: close`) */
  readonly close: boolean;
}

/** Bodies above this go in a write of their own rather than being copied behind the head. */
const COPY_BODY_BELOW = 64 * 1024;

const TOKEN_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A value byte undici refuses: a control character other than HTAB, DEL, or above latin1. */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** A path undici refuses: controls, space, or above latin1. */
const BAD_PATH = /[^\u0021-\u00ff]/;

export function validPath(path: string): boolean {
  return path.startsWith('/') && !BAD_PATH.test(path);
}

function refused(reason: string): H1Error {
  return new H1Error('GW_UPSTREAM_BAD_REQUEST', `request not sent upstream: ${reason}`);
}

/** A request's field lines, and what its fields said of the host and the connection. */
interface FieldLines {
  readonly text: string;
  /** the `host:` line a host field gave, else null (the origin's) */
  readonly host: string | null;
  readonly close: boolean;
}

/** The field lines of the last request a pool built, with the fields they came from: a request
 * with the same fields in the same order (most of a gateway's traffic to one upstream) takes the
 * lines as they are, without checking and joining each field again. A request with its own
 * content-length field is never kept (the field is checked against each body). */
export class FieldLinesCache {
  #names: string[] = [];
  #values: string[] = [];
  #lines: FieldLines | null = null;

  lookup(headers: Readonly<Record<string, string>>): FieldLines | null {
    const lines = this.#lines;
    if (lines === null) return null;
    const names = this.#names;
    const values = this.#values;
    let i = 0;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      if (i >= names.length || names[i] !== name || values[i] !== value) return null;
      i++;
    }
    return i === names.length ? lines : null;
  }

  keep(names: string[], values: string[], lines: FieldLines): void {
    this.#names = names;
    this.#values = values;
    this.#lines = lines;
  }
}

/** The request's bytes, or why it cannot be sent. `hostLine` is `host: <host>\r\n` for the origin. */
export function requestBytes(req: RequestParts, hostLine: string, cache: FieldLinesCache | null = null): RequestBytes | H1Error {
  const bodyLength = req.body === null ? 0 : req.body.byteLength;
  const lines = cache?.lookup(req.headers) ?? fieldLines(req.headers, bodyLength, cache);
  if (lines instanceof H1Error) return lines;
  const host = lines.host ?? hostLine;
  const close = lines.close;
  const fields = lines.text;
  // As undici: POST always says its length; GET and DELETE only when they carry a body.
  const length = bodyLength > 0 || req.method === 'POST' ? `content-length: ${bodyLength}\r\n` : '';
  const head = `${req.method} ${req.path} HTTP/1.1\r\n${host}connection: ${close ? 'close' : 'keep-alive'}\r\n${fields}${length}\r\n`;
  return { head, body: bodyLength === 0 ? null : req.body, close };
}

/** Checks the fields and joins their lines; keeps them in `cache` (when given) for the next
 * request with the same fields. */
function fieldLines(headers: Readonly<Record<string, string>>, bodyLength: number, cache: FieldLinesCache | null): FieldLines | H1Error {
  let host: string | null = null;
  let text = '';
  let close = false;
  let ownLength = false;
  const names: string[] = [];
  const values: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    names.push(name);
    values.push(value);
    if (!TOKEN_NAME.test(name)) return refused('invalid header field name');
    if (BAD_VALUE.test(value)) return refused(`invalid characters in header field ${name}`);
    // Fields that frame the request or the connection are the client's own, as in undici.
    const n = name.length;
    if (n === 4 || n === 6 || n === 7 || n === 10 || n === 14 || n === 17) {
      const lower = name.toLowerCase();
      if (lower === 'host') {
        host = `host: ${value}\r\n`;
        continue;
      }
      if (lower === 'connection') {
        const options = value.toLowerCase().split(',').map((t) => t.trim());
        if (options.some((t) => !TOKEN_NAME.test(t))) return refused('invalid connection header field');
        close ||= options.includes('close');
        continue;
      }
      if (lower === 'content-length') {
        if (!/^\d+$/.test(value) || Number(value) !== bodyLength) return refused('content-length does not match the body');
        ownLength = true;
        continue;
      }
      if (lower === 'transfer-encoding' || lower === 'keep-alive' || lower === 'upgrade' || lower === 'expect') return refused(`${lower} header field`);
    }
    text += `${name}: ${value}\r\n`;
  }
  const lines = { text, host, close };
  if (cache !== null && !ownLength) cache.keep(names, values, lines);
  return lines;
}

/** The body is written on its own, after its head, rather than copied. */
export function largeBody(r: RequestBytes): Buffer | null {
  return r.body !== null && r.body.byteLength >= COPY_BODY_BELOW ? r.body : null;
}

/** The requests' bytes in one buffer, in order: each head, then its body unless it is large. */
export function joinRequests(sent: ReadonlyArray<{ readonly request: RequestBytes }>): Buffer {
  let size = 0;
  for (const { request: r } of sent) size += r.head.length + (r.body === null || largeBody(r) !== null ? 0 : r.body.byteLength);
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for (const { request: r } of sent) {
    at += bytes.write(r.head, at, 'latin1');
    if (r.body !== null && largeBody(r) === null) at += r.body.copy(bytes, at);
  }
  return bytes;
}
