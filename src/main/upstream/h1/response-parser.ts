// An HTTP/1.1 response parser for upstream answers, fed the bytes of one connection as they come:
// heads (1xx ones included), bodies by Content-Length, chunked or read to the close. No I/O: what
// it finds goes to a sink, which can pause it. It reads what llhttp (undici's parser) reads, and
// refuses some of what llhttp lets through where that could let one answer be read as another:
// any Transfer-Encoding but a single `chunked`, HTTP versions other than 1.0 and 1.1, status codes
// below 100, control characters in the reason phrase. Header values keep llhttp's shape: leading
// blanks dropped, trailing ones kept, names as sent.

import { bodyFraming } from './body-framing.js';
import { H1Error, badResponse } from './errors.js';
import { DEL, HEX, HTAB, SEMI, SP, TOKEN, keepAliveHint, tokens, validExtensions } from './field-syntax.js';
import { CONNECTION, CONTENT_LENGTH, type FieldKind, OTHER, TRANSFER_ENCODING, fieldKind, seenField } from './seen-fields.js';

export interface ResponseSink {
  /** A message begins; false when no request waits for one (the parser then fails). */
  messageBegin(): boolean;
  /** A head; for 1xx more follow and the return value is ignored. False pauses the parser.
   * keepAlive: the connection may carry another request after this answer; hintMs: the
   * server's `Keep-Alive: timeout=`, in ms (null without one). */
  head(status: number, headers: Array<Buffer | string>, keepAlive: boolean, hintMs: number | null): boolean;
  /** A piece of the body (a view of the bytes read); false pauses the parser. */
  body(chunk: Buffer): boolean;
  /** The message is whole. */
  end(): void;
}

/** Bytes of field names and values in one head (or its trailers) at which an answer is refused:
 * undici's limit (Node's http.maxHeaderSize), counted as it counts them. */
export const MAX_FIELD_BYTES = 16 * 1024;
/** Bytes of one head on the wire, lines and line ends included: bounds what is buffered for a
 * head whose fields are short but many, or whose status line is long. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** A chunk-size line with its extensions. */
const MAX_CHUNK_LINE = 4096;
/** Hex digits of a chunk size, leading zeros aside (2^52 bytes). */
const MAX_CHUNK_DIGITS = 13;

const CR = 13;
const LF = 10;
const COLON = 58;

const STATUS_LINE = 0;
const FIELDS = 1;
const LENGTH = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_CR = 5;
const CHUNK_LF = 6;
const TRAILERS = 7;
const TO_CLOSE = 8;
/** the message is whole: end() goes out at the next step (after a pause, on resume) */
const COMPLETE = 9;
const DEAD = 10;
type State = typeof STATUS_LINE | typeof FIELDS | typeof LENGTH | typeof CHUNK_SIZE | typeof CHUNK_DATA | typeof CHUNK_CR | typeof CHUNK_LF | typeof TRAILERS | typeof TO_CLOSE | typeof COMPLETE | typeof DEAD;

export class ResponseParser {
  readonly #sink: ResponseSink;
  #state: State = STATUS_LINE;
  #paused = false;
  /** a message's first byte was seen (messageBegin asked) */
  #begun = false;
  /** the start of a line split across reads */
  #partial: Buffer | null = null;
  /** the line found by #line: its bytes are #lineBuf[#lineStart, #lineEnd) (CRLF excluded) */
  #lineBuf: Buffer = Buffer.alloc(0);
  #lineStart = 0;
  #lineEnd = 0;
  /** set by #fieldName: where the value starts */
  #valueStart = 0;
  /** bytes of the current head (or trailers) on the wire, and of its field names and values */
  #headBytes = 0;
  #fieldBytes = 0;
  #status = 0;
  #http10 = false;
  #headers: Array<Buffer | string> = [];
  #contentLength: string | null = null;
  #contentLengths = 0;
  #transferEncoding: string | null = null;
  #connection: string | null = null;
  #keepAliveField: string | null = null;
  /** body bytes left: of the whole body (LENGTH) or of the current chunk */
  #remaining = 0;
  /** what was left to parse when the sink paused */
  #pendingBuf: Buffer | null = null;
  #pendingAt = 0;
  /** the connection ended while paused: finish once the pending bytes are parsed */
  #eofPending = false;

  constructor(sink: ResponseSink) {
    this.#sink = sink;
  }
  /** The last status line read was HTTP/1.0. */
  get http10(): boolean {
    return this.#http10;
  }


  get paused(): boolean {
    return this.#paused;
  }

  /** Nothing of an answer has arrived since the last one ended. */
  get idle(): boolean {
    return this.#state === STATUS_LINE && !this.#begun;
  }

  /** Parses a read. Throws H1Error when the bytes are not a valid answer (the connection is
   * then unusable: the caller destroys it). */
  push(buf: Buffer): void {
    if (this.#state === DEAD) return;
    if (this.#paused) {
      // a read that came before the socket could be paused: kept behind what waits already
      const pending = this.#pendingBuf;
      this.#pendingBuf = pending === null ? buf : Buffer.concat([pending.subarray(this.#pendingAt), buf]);
      this.#pendingAt = 0;
      return;
    }
    this.#run(buf, 0);
  }

  /** Goes on after the sink paused; true when everything read so far is parsed (the socket may
   * be read again). Throws as push does. */
  resume(): boolean {
    if (!this.#paused || this.#state === DEAD) return !this.#paused;
    this.#paused = false;
    const buf = this.#pendingBuf;
    this.#pendingBuf = null;
    this.#run(buf ?? Buffer.alloc(0), this.#pendingAt);
    if (this.#paused) return false;
    if (this.#eofPending) {
      this.#eofPending = false;
      this.finish();
    }
    return true;
  }

  /** The connection ended (the peer's FIN). Ends a body read to the close; throws when an
   * answer was cut short. */
  finish(): void {
    if (this.#state === DEAD) return;
    if (this.#paused) {
      this.#eofPending = true;
      return;
    }
    if (this.#state === TO_CLOSE) {
      this.#state = COMPLETE;
      this.#run(Buffer.alloc(0), 0);
      return;
    }
    if (this.idle && this.#partial === null) return;
    this.#state = DEAD;
    throw new H1Error('GW_UPSTREAM_CLOSED', 'upstream closed the connection before the answer was whole');
  }

  /** No more parsing (the connection is gone). */
  destroy(): void {
    this.#state = DEAD;
    this.#pendingBuf = null;
    this.#partial = null;
    this.#headers = [];
  }

  #run(buf: Buffer, start: number): void {
    let at = start;
    const len = buf.length;
    while (!this.#paused) {
      const state = this.#state;
      if (state === COMPLETE) {
        this.#complete();
        continue;
      }
      if (at >= len || state === DEAD) break;
      switch (state) {
        case STATUS_LINE:
          at = this.#statusLine(buf, at);
          break;
        case FIELDS:
          at = this.#fields(buf, at);
          break;
        case LENGTH:
        case CHUNK_DATA: {
          const end = this.#remaining < len - at ? at + this.#remaining : len;
          this.#remaining -= end - at;
          if (this.#remaining === 0) this.#state = state === LENGTH ? COMPLETE : CHUNK_CR;
          this.#paused = !this.#sink.body(buf.subarray(at, end));
          at = end;
          break;
        }
        case CHUNK_CR:
        case CHUNK_LF:
          if (buf[at] !== (state === CHUNK_CR ? CR : LF)) throw this.#fail(badResponse('expected CRLF after chunk data'));
          this.#state = state === CHUNK_CR ? CHUNK_LF : CHUNK_SIZE;
          at++;
          break;
        case CHUNK_SIZE:
          at = this.#chunkSize(buf, at);
          break;
        case TRAILERS:
          at = this.#trailers(buf, at);
          break;
        case TO_CLOSE:
          this.#paused = !this.#sink.body(at === 0 ? buf : buf.subarray(at));
          at = len;
          break;
      }
    }
    if (this.#paused && at < len) {
      this.#pendingBuf = buf;
      this.#pendingAt = at;
    }
  }

  #fail(err: H1Error): H1Error {
    this.destroy();
    return err;
  }

  /** Finds the next line from buf[at]; returns the offset after it, or -1 when the line is not
   * whole yet (its start is kept). */
  #line(buf: Buffer, at: number, limit: number): number {
    const lf = buf.indexOf(LF, at);
    if (lf < 0) {
      const rest = buf.subarray(at);
      this.#partial = this.#partial === null ? rest : Buffer.concat([this.#partial, rest]);
      if (this.#headBytes + this.#partial.length > limit) throw this.#tooLarge();
      return -1;
    }
    let lineBuf = buf;
    let start = at;
    let lfAt = lf;
    if (this.#partial !== null) {
      lineBuf = Buffer.concat([this.#partial, buf.subarray(at, lf + 1)]);
      this.#partial = null;
      start = 0;
      lfAt = lineBuf.length - 1;
    }
    this.#headBytes += lfAt + 1 - start;
    if (this.#headBytes > limit) throw this.#tooLarge();
    if (lfAt === start || lineBuf[lfAt - 1] !== CR) throw this.#fail(badResponse('line ends without CR'));
    this.#lineBuf = lineBuf;
    this.#lineStart = start;
    this.#lineEnd = lfAt - 1;
    return lf + 1;
  }

  #tooLarge(): H1Error {
    return this.#fail(new H1Error('GW_UPSTREAM_HEAD_TOO_LARGE', 'upstream answer head too large'));
  }

  #statusLine(buf: Buffer, at: number): number {
    if (!this.#begun) {
      // CRs and LFs before a message are skipped (empty lines, bare ones too), as llhttp does.
      while (buf[at] === CR || buf[at] === LF) at++;
      if (at >= buf.length) return at;
      this.#begun = true;
      if (!this.#sink.messageBegin()) throw this.#fail(badResponse('data from the upstream when no answer was due'));
    }
    const next = this.#line(buf, at, MAX_HEAD_BYTES);
    if (next < 0) return buf.length;
    this.#parseStatus(this.#lineBuf, this.#lineStart, this.#lineEnd);
    this.#state = FIELDS;
    return next;
  }

  /** `HTTP/1.x SP 3DIGIT [SP reason]`, the reason SP, visible ASCII or obs-text. */
  #parseStatus(b: Buffer, s: number, e: number): void {
    if (
      e - s < 12 || b[s] !== 72 || b[s + 1] !== 84 || b[s + 2] !== 84 || b[s + 3] !== 80 || b[s + 4] !== 47 ||
      b[s + 5] !== 49 || b[s + 6] !== 46 || (b[s + 7] !== 49 && b[s + 7] !== 48) || b[s + 8] !== SP
    ) {
      throw this.#fail(badResponse('invalid status line'));
    }
    let status = 0;
    for (let i = s + 9; i < s + 12; i++) {
      const d = (b[i] ?? 0) - 48;
      if (d < 0 || d > 9) throw this.#fail(badResponse('invalid status code'));
      status = status * 10 + d;
    }
    if (status < 100) throw this.#fail(badResponse('invalid status code'));
    if (e - s > 12) {
      if (b[s + 12] !== SP) throw this.#fail(badResponse('invalid status line'));
      for (let i = s + 13; i < e; i++) {
        const c = b[i] ?? 0;
        if (c < SP || c === DEL) throw this.#fail(badResponse('control character in the reason phrase'));
      }
    }
    this.#status = status;
    this.#http10 = b[s + 7] === 48;
  }

  #fields(buf: Buffer, at: number): number {
    const next = this.#line(buf, at, MAX_HEAD_BYTES);
    if (next < 0) return buf.length;
    const b = this.#lineBuf;
    const s = this.#lineStart;
    const e = this.#lineEnd;
    if (s === e) {
      this.#headEnd();
      return next;
    }
    const colon = this.#fieldName(b, s, e);
    const vs = this.#valueStart;
    const seen = seenField(b, s, colon);
    // The same bytes as this name's last value: checked when that was read.
    let value: string | Buffer | null = seen === null ? null : seen.sameValue(b, vs, e);
    if (value === null) {
      // ASCII values as strings (the same text in latin1 and UTF-8), others as a view of their
      // bytes for the reader to decode.
      if (!this.#checkValue(b, vs, e)) value = b.subarray(vs, e);
      else value = seen === null ? b.toString('latin1', vs, e) : seen.newValue(b, vs, e);
    }
    this.#countField(colon - s + (e - vs));
    const name = seen === null ? b.toString('latin1', s, colon) : seen.name;
    this.#headers.push(name, value);
    const kind = seen === null ? fieldKind(name) : seen.kind;
    if (kind !== OTHER) this.#framingField(kind, value);
    return next;
  }

  /** Checks a field line (name, colon, value characters; no folding), counts its bytes toward
   * the limit; returns the colon's offset, and sets where the value starts. */
  #field(b: Buffer, s: number, e: number): number {
    const colon = this.#fieldName(b, s, e);
    this.#checkValue(b, this.#valueStart, e);
    this.#countField(colon - s + (e - this.#valueStart));
    return colon;
  }

  /** Checks a field's name and colon; returns the colon's offset, and sets where the value
   * starts (leading blanks dropped). */
  #fieldName(b: Buffer, s: number, e: number): number {
    let i = s;
    while (i < e && TOKEN[b[i] ?? 0] === 1) i++;
    // A line starting with a blank is obsolete folding, refused as llhttp does.
    if (i === s || i === e || b[i] !== COLON) throw this.#fail(badResponse('invalid header field'));
    let v = i + 1;
    while (v < e && (b[v] === SP || b[v] === HTAB)) v++;
    this.#valueStart = v;
    return i;
  }

  /** Checks a value's characters; true when it is ASCII. */
  #checkValue(b: Buffer, v: number, e: number): boolean {
    let ascii = true;
    for (let j = v; j < e; j++) {
      const c = b[j] ?? 0;
      if (c > DEL) ascii = false;
      else if (c < SP ? c !== HTAB : c === DEL) throw this.#fail(badResponse('invalid character in a header value'));
    }
    return ascii;
  }

  /** Counts a field's name and value bytes toward the head's limit. */
  #countField(bytes: number): void {
    this.#fieldBytes += bytes;
    if (this.#fieldBytes >= MAX_FIELD_BYTES) throw this.#tooLarge();
  }

  #framingField(kind: FieldKind, raw: Buffer | string): void {
    const value = typeof raw === 'string' ? raw : raw.toString('latin1');
    if (kind === CONTENT_LENGTH) {
      this.#contentLength = value;
      this.#contentLengths++;
    } else if (kind === TRANSFER_ENCODING) this.#transferEncoding = this.#transferEncoding === null ? value : `${this.#transferEncoding},${value}`;
    else if (kind === CONNECTION) this.#connection = this.#connection === null ? value : `${this.#connection},${value}`;
    else this.#keepAliveField = this.#keepAliveField === null ? value : `${this.#keepAliveField}${value}`;
  }

  #headEnd(): void {
    const status = this.#status;
    const headers = this.#headers;
    const connection = this.#connection === null ? null : tokens(this.#connection);
    const hint = this.#keepAliveField === null ? null : keepAliveHint(this.#keepAliveField);
    const length = this.#framing();
    this.#resetHead();
    if (status < 200) {
      // 100 is never asked for (no Expect is sent) and 101 never wanted: undici refuses both.
      if (status === 100 || status === 101) throw this.#fail(badResponse(`unexpected ${status} answer`));
      this.#begun = false;
      this.#state = STATUS_LINE;
      this.#sink.head(status, headers, true, hint);
      return;
    }
    let keepAlive = this.#http10
      ? connection !== null && connection.includes('keep-alive') && !connection.includes('close')
      : connection === null || !connection.includes('close');
    if (status === 204 || status === 304) {
      if (typeof length === 'number' && length !== 0) throw this.#fail(badResponse(`Content-Length on a ${status} answer`));
      this.#state = COMPLETE;
    } else if (length === 'chunked') {
      this.#state = CHUNK_SIZE;
    } else if (length !== null) {
      this.#remaining = length;
      this.#state = length === 0 ? COMPLETE : LENGTH;
    } else {
      this.#state = TO_CLOSE;
      keepAlive = false;
    }
    this.#paused = !this.#sink.head(status, headers, keepAlive, hint);
  }

  /** The body's framing from this head's fields (body-framing.ts), or the parser fails. */
  #framing(): number | 'chunked' | null {
    const framing = bodyFraming({ transferEncoding: this.#transferEncoding, contentLength: this.#contentLength, contentLengths: this.#contentLengths });
    if (typeof framing === 'object' && framing !== null) throw this.#fail(badResponse(framing.problem));
    return framing;
  }

  #resetHead(): void {
    this.#headers = [];
    this.#headBytes = 0;
    this.#fieldBytes = 0;
    this.#contentLength = null;
    this.#contentLengths = 0;
    this.#transferEncoding = null;
    this.#connection = null;
    this.#keepAliveField = null;
  }

  #chunkSize(buf: Buffer, at: number): number {
    const next = this.#line(buf, at, MAX_CHUNK_LINE);
    if (next < 0) return buf.length;
    const b = this.#lineBuf;
    const s = this.#lineStart;
    const e = this.#lineEnd;
    this.#headBytes = 0;
    let i = s;
    while (i < e && b[i] === 48) i++;
    let size = 0;
    const digitsFrom = i;
    for (; i < e; i++) {
      const d = HEX[b[i] ?? 0] ?? -1;
      if (d < 0) break;
      size = size * 16 + d;
    }
    if (i === s || i - digitsFrom > MAX_CHUNK_DIGITS) throw this.#fail(badResponse('invalid chunk size'));
    if (i < e && (b[i] !== SEMI || !validExtensions(b, i, e))) throw this.#fail(badResponse('invalid chunk size or extension'));
    if (size === 0) {
      this.#state = TRAILERS;
    } else {
      this.#remaining = size;
      this.#state = CHUNK_DATA;
    }
    return next;
  }

  #trailers(buf: Buffer, at: number): number {
    const next = this.#line(buf, at, MAX_HEAD_BYTES);
    if (next < 0) return buf.length;
    if (this.#lineStart === this.#lineEnd) {
      this.#resetHead();
      this.#state = COMPLETE;
    } else {
      // Checked as header fields and counted with them; not passed on (the relay has no use for
      // them). A Content-Length among them is refused, as llhttp refuses it.
      const colon = this.#field(this.#lineBuf, this.#lineStart, this.#lineEnd);
      if (colon - this.#lineStart === 14 && this.#lineBuf.toString('latin1', this.#lineStart, colon).toLowerCase() === 'content-length') {
        throw this.#fail(badResponse('Content-Length in the trailers'));
      }
    }
    return next;
  }

  #complete(): void {
    this.#state = STATUS_LINE;
    this.#begun = false;
    this.#headBytes = 0;
    this.#sink.end();
  }
}
