// A strict JSON scanner over the text itself: skip a value, walk an object's members or an
// array's elements, read a string token. It lets the filter op find and slice the few members it
// needs without building (and later re-serialising) the whole message, and a POST's message be
// checked and read in one pass (jsonrpc.ts), its names and depth too. Whatever it passes over
// it checks against RFC 8259 exactly as JSON.parse does, and answers FAIL at the first thing
// JSON.parse would reject: a rewrite is only ever built from text a client would parse as we did.
//
// Positions are UTF-16 indexes into the text. Nothing throws, nothing recurses (nesting depth is
// bounded only by the text), and beyond the scanner object nothing is allocated unless a string
// token with escapes is decoded or containers nest deeper than ever before.

/** What the scanner answers where the text is not valid JSON (or a visitor gave up). */
export const FAIL = -1;

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const SLASH = 0x2f;
const ZERO = 0x30;
const ONE = 0x31;
const NINE = 0x39;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** A run of JSON whitespace; sticky, so it reads from lastIndex on. */
const WHITESPACE = /[\t\n\r ]*/y;

/** The control characters that are not JSON whitespace: not allowed anywhere in JSON text. */
const OTHER_CONTROLS: readonly string[] = Array.from({ length: 0x20 }, (_, c) => String.fromCharCode(c)).filter((c) => c !== '\t' && c !== '\n' && c !== '\r');

/** The first index >= from holding `char`, or Infinity. */
function nextOf(text: string, char: string, from: number): number {
  const at = text.indexOf(char, from);
  return at === -1 ? Infinity : at;
}

/** The first index >= from holding a control character other than tab, LF and CR, or Infinity. */
function nextOtherControl(text: string, from: number): number {
  let first = Infinity;
  for (const c of OTHER_CONTROLS) {
    const at = text.indexOf(c, from);
    if (at !== -1 && at < first) first = at;
  }
  return first;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isHexDigit(c: number): boolean {
  const lower = c | 0x20; // NaN (past the end) | 0x20 is 0x20: not a digit
  return (c >= ZERO && c <= NINE) || (lower >= 0x61 && lower <= 0x66);
}

/** Past the string token whose opening quote is at i, or FAIL; one character at a time. */
function skipStringByChar(text: string, i: number): number {
  if (text.charCodeAt(i) !== QUOTE) return FAIL;
  const n = text.length;
  for (let j = i + 1; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) return j + 1;
    if (c < SPACE) return FAIL;
    if (c === BACKSLASH) {
      const e = text.charCodeAt(++j);
      if (e === 0x75) {
        // \uXXXX: exactly four hex digits (a lone surrogate is valid JSON, as for JSON.parse)
        if (!isHexDigit(text.charCodeAt(j + 1)) || !isHexDigit(text.charCodeAt(j + 2)) || !isHexDigit(text.charCodeAt(j + 3)) || !isHexDigit(text.charCodeAt(j + 4))) return FAIL;
        j += 4;
      } else if (
        e !== QUOTE &&
        e !== BACKSLASH &&
        e !== SLASH &&
        e !== 0x62 && // b
        e !== 0x66 && // f
        e !== 0x6e && // n
        e !== 0x72 && // r
        e !== 0x74 // t
      ) {
        return FAIL;
      }
    }
  }
  return FAIL; // unterminated
}

/** Past the number token at i (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`), or FAIL. */
function skipNumber(text: string, i: number): number {
  let j = i;
  if (text.charCodeAt(j) === MINUS) j++;
  let c = text.charCodeAt(j);
  if (c === ZERO) {
    j++;
  } else if (c >= ONE && c <= NINE) {
    while (isDigit(text.charCodeAt(++j)));
  } else {
    return FAIL;
  }
  if (text.charCodeAt(j) === DOT) {
    if (!isDigit(text.charCodeAt(++j))) return FAIL;
    while (isDigit(text.charCodeAt(++j)));
  }
  c = text.charCodeAt(j);
  if (c === 0x65 || c === 0x45) {
    c = text.charCodeAt(++j);
    if (c === PLUS || c === MINUS) c = text.charCodeAt(++j);
    if (!isDigit(c)) return FAIL;
    while (isDigit(text.charCodeAt(++j)));
  }
  return j; // what follows (`01`, `1x`) is refused by the caller's delimiter check
}

function hasBackslash(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === BACKSLASH) return true;
  return false;
}

/** Texts up to this many characters are scanned without searching ahead (JsonScanner.short). */
const SHORT_TEXT = 512;

// Open containers of the value being skipped, innermost last: 1 = object, 0 = array. Shared by
// every scanner (skipValue never re-enters itself), grown on demand.
let open = new Uint8Array(64);

/**
 * Called for each member of an object: the name's string token is text[nameStart, nameEnd)
 * (quotes included), the value's first character is at valueStart. It must consume the value
 * (skipValue, or its own walk) and answer the index just past it, or FAIL to stop the walk.
 */
export type MemberVisitor = (nameStart: number, nameEnd: number, valueStart: number) => number;

/** Called for each element of an array, at its first character; answers as a MemberVisitor. */
export type ElementVisitor = (valueStart: number) => number;

/** What a skip checks besides the grammar as it goes (json-members.ts: names unique per object,
 * nesting bounded); false stops the skip with FAIL. */
export interface WalkCheck {
  /** a container opens (`{` or `[`) */
  open(isObject: boolean): boolean;
  /** a member's name, the string token text[nameStart, nameEnd) */
  name(nameStart: number, nameEnd: number): boolean;
  /** the innermost open container closes */
  close(): void;
}

/** A scanner for one text; positions are indexes into `text`. */
export class JsonScanner {
  readonly text: string;
  // Where the next backslash, tab, LF, CR and other control character are (Infinity: none
  // left), as found from `searchedFrom` on. A string with none of them ends at the next quote,
  // found natively by indexOf: that is what makes the scan cheaper than JSON.parse, as reading
  // each character in JS would not be. A lookup resumes where the last one found something, so
  // a forward scan reads the text about once per character looked for.
  private backslash = -1;
  private tab = -1;
  private lineFeed = -1;
  private carriageReturn = -1;
  private otherControl = -1;
  /** the least of the five */
  private special = -1;
  private searchedFrom = 0;
  /** Short texts (a request's message) are read one character at a time: the first search for
   * the five would cost more than reading all of it. */
  private readonly short: boolean;

  constructor(text: string) {
    this.text = text;
    this.short = text.length <= SHORT_TEXT;
  }

  /** Past any JSON whitespace (space, tab, LF, CR; nothing else) from i. */
  skipWhitespace(i: number): number {
    const text = this.text;
    // Compact JSON has none, `": "` one; NaN past the end stops too.
    let c = text.charCodeAt(i);
    if (c !== SPACE && c !== LF && c !== CR && c !== TAB) return i;
    c = text.charCodeAt(++i);
    if (c !== SPACE && c !== LF && c !== CR && c !== TAB) return i;
    // A run (pretty-printed indentation): irregexp's native loop beats a JS one here.
    WHITESPACE.lastIndex = i;
    WHITESPACE.test(text); // always matches, possibly nothing
    return WHITESPACE.lastIndex;
  }

  /** Past the string token whose opening quote is at i, or FAIL. */
  skipString(i: number): number {
    const text = this.text;
    if (this.short) return skipStringByChar(text, i);
    if (text.charCodeAt(i) !== QUOTE) return FAIL;
    const close = text.indexOf('"', i + 1);
    if (close === -1) return FAIL;
    if (this.special <= i || i + 1 < this.searchedFrom) this.findSpecial(i + 1);
    // An escape may hide the real closing quote and must itself be checked, and a control
    // character is an error: character by character, then.
    if (this.special < close) return skipStringByChar(text, i);
    return close + 1;
  }

  /** Brings the five positions up to date for a string whose characters start at `from`. */
  private findSpecial(from: number): void {
    const text = this.text;
    if (from < this.searchedFrom) {
      // A scan that went back (a second walk from the start): what lies between is unknown.
      this.backslash = this.tab = this.lineFeed = this.carriageReturn = this.otherControl = -1;
    }
    this.searchedFrom = from;
    if (this.backslash < from) this.backslash = nextOf(text, '\\', from);
    if (this.tab < from) this.tab = nextOf(text, '\t', from);
    if (this.lineFeed < from) this.lineFeed = nextOf(text, '\n', from);
    if (this.carriageReturn < from) this.carriageReturn = nextOf(text, '\r', from);
    if (this.otherControl < from) this.otherControl = nextOtherControl(text, from);
    this.special = Math.min(this.backslash, this.tab, this.lineFeed, this.carriageReturn, this.otherControl);
  }

  /** Past a string, number, true, false or null at i, or FAIL. */
  private skipScalar(i: number): number {
    const text = this.text;
    const c = text.charCodeAt(i);
    if (c === QUOTE) return this.skipString(i);
    if (c === MINUS || isDigit(c)) return skipNumber(text, i);
    if (c === 0x74) return text.startsWith('true', i) ? i + 4 : FAIL;
    if (c === 0x66) return text.startsWith('false', i) ? i + 5 : FAIL;
    if (c === 0x6e) return text.startsWith('null', i) ? i + 4 : FAIL;
    return FAIL;
  }

  /** From a member name's opening quote at i, past the name, whitespace and colon to the value. */
  private memberValueStart(i: number, check: WalkCheck | null): number {
    const nameEnd = this.skipString(i);
    if (nameEnd === FAIL || (check !== null && !check.name(i, nameEnd))) return FAIL;
    const colon = this.skipWhitespace(nameEnd);
    return this.text.charCodeAt(colon) === COLON ? this.skipWhitespace(colon + 1) : FAIL;
  }

  /** Past the JSON value whose first character is at i (no leading whitespace), or FAIL; with
   * `check`, also FAIL where it says so. */
  skipValue(i: number, check: WalkCheck | null = null): number {
    const text = this.text;
    const first = text.charCodeAt(i);
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) return this.skipScalar(i);
    let stack = open;
    let depth = 0;
    for (;;) {
      // i is at the first character of a value.
      let c = text.charCodeAt(i);
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        const isObject = c === OPEN_BRACE;
        if (check !== null && !check.open(isObject)) return FAIL;
        if (depth === stack.length) {
          open = new Uint8Array(stack.length * 2);
          open.set(stack);
          stack = open;
        }
        stack[depth++] = isObject ? 1 : 0;
        i = this.skipWhitespace(i + 1);
        if (text.charCodeAt(i) === (isObject ? CLOSE_BRACE : CLOSE_BRACKET)) {
          check?.close();
          depth--;
          i++;
        } else {
          if (isObject) i = this.memberValueStart(i, check);
          if (i === FAIL) return FAIL;
          continue;
        }
      } else {
        i = this.skipScalar(i);
        if (i === FAIL) return FAIL;
      }
      // i is just past a value: close containers until one goes on with a comma.
      for (;;) {
        if (depth === 0) return i;
        i = this.skipWhitespace(i);
        c = text.charCodeAt(i);
        const inObject = stack[depth - 1] === 1;
        if (c === COMMA) {
          i = this.skipWhitespace(i + 1);
          if (inObject) i = this.memberValueStart(i, check);
          if (i === FAIL) return FAIL;
          break;
        }
        if (c !== (inObject ? CLOSE_BRACE : CLOSE_BRACKET)) return FAIL;
        check?.close();
        depth--;
        i++;
      }
    }
  }

  /** Whether the whole text is exactly one JSON value, with optional whitespace around it. */
  isJsonText(): boolean {
    const end = this.skipValue(this.skipWhitespace(0));
    return end !== FAIL && this.skipWhitespace(end) === this.text.length;
  }

  /** Walks the object whose `{` is at i; past its `}`, or FAIL (invalid JSON, a visitor's FAIL,
   * or `check`'s: the object and its names counted there, the visitor's skips passing it on). */
  walkObject(i: number, visit: MemberVisitor, check: WalkCheck | null = null): number {
    const text = this.text;
    if (text.charCodeAt(i) !== OPEN_BRACE || (check !== null && !check.open(true))) return FAIL;
    i = this.skipWhitespace(i + 1);
    if (text.charCodeAt(i) === CLOSE_BRACE) {
      check?.close();
      return i + 1;
    }
    for (;;) {
      const nameEnd = this.skipString(i);
      if (nameEnd === FAIL || (check !== null && !check.name(i, nameEnd))) return FAIL;
      const colon = this.skipWhitespace(nameEnd);
      if (text.charCodeAt(colon) !== COLON) return FAIL;
      const end = visit(i, nameEnd, this.skipWhitespace(colon + 1));
      if (end === FAIL) return FAIL;
      i = this.skipWhitespace(end);
      const c = text.charCodeAt(i);
      if (c === CLOSE_BRACE) {
        check?.close();
        return i + 1;
      }
      if (c !== COMMA) return FAIL;
      i = this.skipWhitespace(i + 1);
    }
  }

  /** Walks the array whose `[` is at i; past its `]`, or FAIL. */
  walkArray(i: number, visit: ElementVisitor): number {
    const text = this.text;
    if (text.charCodeAt(i) !== OPEN_BRACKET) return FAIL;
    i = this.skipWhitespace(i + 1);
    if (text.charCodeAt(i) === CLOSE_BRACKET) return i + 1;
    for (;;) {
      const end = visit(i);
      if (end === FAIL) return FAIL;
      i = this.skipWhitespace(end);
      const c = text.charCodeAt(i);
      if (c === CLOSE_BRACKET) return i + 1;
      if (c !== COMMA) return FAIL;
      i = this.skipWhitespace(i + 1);
    }
  }

  /**
   * Whether the string token text[start, end) (already scanned) decodes to `name`, which must
   * contain no `"`, `\` or control character. Allocates only for a token with escapes.
   */
  tokenEquals(start: number, end: number, name: string): boolean {
    const rawLength = end - start - 2;
    // Escapes only lengthen the raw text, so a token as long as the name matches only verbatim.
    if (rawLength === name.length) return this.text.startsWith(name, start + 1);
    if (rawLength < name.length) return false;
    // Longer: only escapes could make it match; most names already differ in their first character.
    const first = this.text.charCodeAt(start + 1);
    if ((first !== name.charCodeAt(0) && first !== BACKSLASH) || !hasBackslash(this.text, start + 1, end - 1)) return false;
    return this.stringValue(start, end) === name;
  }

  /** The decoded value of the string token text[start, end) (already scanned), or null if it is none. */
  stringValue(start: number, end: number): string | null {
    const text = this.text;
    if (end - start < 2 || text.charCodeAt(start) !== QUOTE || text.charCodeAt(end - 1) !== QUOTE) return null;
    if (!hasBackslash(text, start + 1, end - 1)) return text.slice(start + 1, end - 1);
    // Only this token is parsed: JSON.parse unescapes exactly as a client does.
    try {
      const value: unknown = JSON.parse(text.slice(start, end));
      return typeof value === 'string' ? value : null;
    } catch {
      return null;
    }
  }
}
