// HTTP/1.1 field syntax for the response parser (RFC 9110, 9112), as byte tables and pure
// functions over bytes or strings: token and hex bytes, field-value bytes, chunk extensions,
// and the Connection and Keep-Alive fields' contents (the Connection list also read by
// ../headers.ts for the hop-by-hop fields either client's answers and requests name).

export const SP = 32;
export const HTAB = 9;
export const SEMI = 59;
export const DEL = 127;
const EQUALS = 61;
const DQUOTE = 34;
const BACKSLASH = 92;

/** RFC 9110 tchar. */
export const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

/** Hex digit values, -1 for others. */
export const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** A field value's byte: HTAB, visible ASCII, space, or obs-text. */
export function isValueByte(b: number): boolean {
  return b === HTAB || (b >= SP && b !== DEL);
}

/** A comma-separated list's elements, trimmed and lower case, empty ones left out. */
export function tokens(list: string): string[] {
  const out: string[] = [];
  for (const part of list.split(',')) {
    const t = part.trim().toLowerCase();
    if (t !== '') out.push(t);
  }
  return out;
}

/** `timeout=N` of a Keep-Alive field in ms, as undici reads it. */
export function keepAliveHint(value: string): number | null {
  const m = /timeout=(\d+)/.exec(value);
  return m?.[1] === undefined ? null : Number(m[1]) * 1000;
}

/** `*( ";" token [ "=" ( token / quoted-string ) ] )` over b[i, e), no blanks, read as llhttp
 * reads it: a name may be empty when a value follows, a value may be empty. */
export function validExtensions(b: Buffer, from: number, e: number): boolean {
  let i = from;
  while (i < e) {
    if (b[i] !== SEMI) return false;
    i++;
    const name = i;
    while (i < e && TOKEN[b[i] ?? 0] === 1) i++;
    if (i === e || b[i] === SEMI) {
      if (i === name) return false;
      continue;
    }
    if (b[i] !== EQUALS) return false;
    i++;
    if (b[i] === DQUOTE) {
      i = quotedStringEnd(b, i + 1, e);
      if (i < 0) return false;
    } else {
      while (i < e && TOKEN[b[i] ?? 0] === 1) i++;
    }
  }
  return true;
}

/** The offset after the closing quote of a quoted-string whose text starts at i; -1 if none. */
function quotedStringEnd(b: Buffer, from: number, e: number): number {
  for (let i = from; i < e; i++) {
    const c = b[i] ?? 0;
    if (c === DQUOTE) return i + 1;
    if (c === BACKSLASH) {
      i++;
      if (i >= e || !isValueByte(b[i] ?? 0)) return -1;
    } else if (!isValueByte(c)) return -1;
  }
  return -1;
}
