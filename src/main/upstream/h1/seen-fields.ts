// Header field names seen in upstream answers, each with the last ASCII value it had, so that an
// answer like the ones before it is read without making strings: an upstream sends the same
// names in every answer, and mostly the same values (its content type, its server, a date that
// changes once a second, often one length). Names and values are matched byte for byte, case
// included: what the parser gives is exactly what it would have sliced. Bounded: MAX_NAMES names
// of up to MAX_NAME_BYTES (the table starts over when full), values of up to MAX_VALUE_BYTES;
// anything else is sliced as it comes.

/** What a field means to the parser: nothing, or one of the fields that frame the answer. */
export const OTHER = 0;
export const CONTENT_LENGTH = 1;
export const TRANSFER_ENCODING = 2;
export const CONNECTION = 3;
export const KEEP_ALIVE = 4;
export type FieldKind = typeof OTHER | typeof CONTENT_LENGTH | typeof TRANSFER_ENCODING | typeof CONNECTION | typeof KEEP_ALIVE;

const MAX_NAMES = 64;
const MAX_NAME_BYTES = 32;
const MAX_VALUE_BYTES = 64;

/** The field's meaning to the parser, from its name in any case. */
export function fieldKind(name: string): FieldKind {
  const n = name.length;
  if (n !== 14 && n !== 10 && n !== 17) return OTHER;
  const lower = name.toLowerCase();
  if (lower === 'content-length') return CONTENT_LENGTH;
  if (lower === 'transfer-encoding') return TRANSFER_ENCODING;
  if (lower === 'connection') return CONNECTION;
  return lower === 'keep-alive' ? KEEP_ALIVE : OTHER;
}

/** b[s, e) holds exactly the characters of `text` (latin1). */
function sameBytes(b: Buffer, s: number, e: number, text: string): boolean {
  if (e - s !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (b[s + i] !== text.charCodeAt(i)) return false;
  return true;
}

export class SeenField {
  readonly name: string;
  readonly kind: FieldKind;
  #value: string | null = null;

  constructor(name: string) {
    this.name = name;
    this.kind = fieldKind(name);
  }

  /** The last value kept, when b[s, e) holds the same bytes; else null. */
  sameValue(b: Buffer, s: number, e: number): string | null {
    const last = this.#value;
    return last !== null && sameBytes(b, s, e, last) ? last : null;
  }

  /** The checked ASCII value in b[s, e) as a string, kept as the last one when short. */
  newValue(b: Buffer, s: number, e: number): string {
    const value = b.toString('latin1', s, e);
    if (e - s <= MAX_VALUE_BYTES) this.#value = value;
    return value;
  }
}

/** Seen names by length (index 0 unused). */
const byLength: SeenField[][] = Array.from({ length: MAX_NAME_BYTES + 1 }, () => []);
let count = 0;

/** The field whose name is b[s, e), byte for byte; a name not seen before is added while there
 * is room, else null (the caller slices it). */
export function seenField(b: Buffer, s: number, e: number): SeenField | null {
  const n = e - s;
  if (n > MAX_NAME_BYTES) return null;
  const list = byLength[n];
  if (list === undefined) return null;
  for (const f of list) if (sameBytes(b, s, e, f.name)) return f;
  if (count >= MAX_NAMES) {
    // Full: start over, so that names sent once (a hostile upstream's junk among them) cannot
    // keep every later name out of the table for the life of the process.
    for (const names of byLength) names.length = 0;
    count = 0;
  }
  count++;
  const f = new SeenField(b.toString('latin1', s, e));
  list.push(f);
  return f;
}
