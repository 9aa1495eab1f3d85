// Whether a Content-Type names an event stream, read as RFC 9110 writes media types (§8.3.1):
//   media-type = type "/" subtype parameters
//   parameters = *( OWS ";" OWS [ parameter ] ),  parameter = token "=" ( token / quoted-string )
// type and subtype compare case-insensitively; parameters do not change what the type is.
// Every part of the gateway that asks "is this answer an event stream?" asks it here, so that no
// part streams an answer another holds as JSON.

/** tchar (RFC 9110 §5.6.2), by character code. */
const tchar: readonly boolean[] = Array.from({ length: 128 }, (_, c) => /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(String.fromCharCode(c)));

const EVENT_STREAM = 'text/event-stream';

function skipOws(s: string, i: number): number {
  while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
  return i;
}

function skipToken(s: string, i: number): number {
  while (i < s.length && tchar[s.charCodeAt(i)] === true) i++;
  return i;
}

/** The index after the quoted-string that starts at `i` (a `"`), or -1 when it does not close or
 * holds a control character. */
function skipQuoted(s: string, i: number): number {
  for (i++; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c === 0x5c) i++; // quoted-pair: the next character, whatever it is, is checked below
    const q = s.charCodeAt(i);
    if ((q < 0x20 && q !== 0x09) || q === 0x7f || Number.isNaN(q)) return -1;
  }
  return -1;
}

/** The media type of `s` that starts at `at` (after OWS): where it ends (at a `,` or the end of
 * `s`, OWS before that included) and whether it is text/event-stream; null when `s` holds no
 * media type there. */
function readMediaType(s: string, at: number): { readonly end: number; readonly eventStream: boolean } | null {
  const start = skipOws(s, at);
  let i = skipToken(s, start);
  if (i === start || s.charCodeAt(i) !== 0x2f) return null;
  const subtype = i + 1;
  i = skipToken(s, subtype);
  if (i === subtype) return null;
  const eventStream = i - start === EVENT_STREAM.length && s.slice(start, i).toLowerCase() === EVENT_STREAM;
  for (;;) {
    const j = skipOws(s, i);
    if (j === s.length || s.charCodeAt(j) === 0x2c) return { end: j, eventStream };
    if (s.charCodeAt(j) !== 0x3b) return null;
    const name = skipOws(s, j + 1);
    i = name;
    // An empty parameter (`;;`, a `;` last) is allowed.
    if (name === s.length || s.charCodeAt(name) === 0x3b || s.charCodeAt(name) === 0x2c) continue;
    const eq = skipToken(s, name);
    if (eq === name || s.charCodeAt(eq) !== 0x3d) return null;
    const value = eq + 1;
    i = s.charCodeAt(value) === 0x22 ? skipQuoted(s, value) : skipToken(s, value);
    if (i <= value) return null;
  }
}

/** `value` is one media type, text/event-stream (any case, any parameters, OWS around it). */
export function isEventStreamType(value: string): boolean {
  const m = readMediaType(value, 0);
  return m !== null && m.end === value.length && m.eventStream;
}

/**
 * A Content-Type field value names an event stream: one of its comma-separated members is
 * text/event-stream. Content-Type is a single media type, but an upstream may send it as a list
 * or in several fields (which RFC 9110 §5.3 reads as one list, and which a client's
 * `Headers.get` joins that way): an answer any member calls an event stream is treated as one —
 * relayed as it comes, never held whole, nothing pipelined behind it — since a client may read
 * it as one and it may not end for long. A value that is no list of media types names none.
 */
export function namesEventStream(value: string): boolean {
  let found = false;
  let i = 0;
  for (;;) {
    i = skipOws(value, i);
    if (i === value.length) return found;
    // Empty list members (`a, , b`) are allowed (RFC 9110 §5.6.1).
    if (value.charCodeAt(i) === 0x2c) {
      i++;
      continue;
    }
    const m = readMediaType(value, i);
    if (m === null) return false;
    found ||= m.eventStream;
    i = m.end;
  }
}
