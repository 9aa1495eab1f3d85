// How an answer's body is framed, decided from its head's framing fields alone (no parser state):
// the one place that says which combinations are refused, so it can be tested on its own.

import { SP } from './field-syntax.js';

/** The framing fields of one head: Transfer-Encoding's values joined with commas, the last
 * Content-Length value and how many Content-Length fields there were. */
export interface FramingFields {
  readonly transferEncoding: string | null;
  readonly contentLength: string | null;
  readonly contentLengths: number;
}

/** The body's length, 'chunked', null (none given: read to the close), or why the head is
 * refused. */
export type BodyFraming = number | 'chunked' | null | { readonly problem: string };

/** Refuses what could make the answer's end ambiguous: a Transfer-Encoding other than one
 * `chunked`, both Transfer-Encoding and Content-Length, several Content-Length fields, a length
 * not digits. */
export function bodyFraming(f: FramingFields): BodyFraming {
  const te = f.transferEncoding;
  const cl = f.contentLength;
  if (te !== null) {
    // One `chunked` and nothing else, not even an empty list element: llhttp reads `chunked,`
    // as not chunked, so a list is where two readers of one answer part ways.
    if (!/^chunked[ \t]*$/i.test(te)) return { problem: 'a Transfer-Encoding other than chunked' };
    if (cl !== null) return { problem: 'both Transfer-Encoding and Content-Length' };
    return 'chunked';
  }
  if (cl === null) return null;
  if (f.contentLengths > 1) return { problem: 'several Content-Length fields' };
  const length = contentLength(cl);
  return length < 0 ? { problem: 'invalid Content-Length' } : length;
}

/** A Content-Length value's number: 1 to 15 digits, then only spaces (a tab is refused, as
 * llhttp refuses it); -1 when it is not that. */
export function contentLength(value: string): number {
  let length = 0;
  let i = 0;
  for (; i < value.length; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    length = length * 10 + d;
  }
  if (i === 0 || i > 15) return -1;
  for (let j = i; j < value.length; j++) if (value.charCodeAt(j) !== SP) return -1;
  return length;
}
