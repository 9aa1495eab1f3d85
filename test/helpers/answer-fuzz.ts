// Upstream answers for fuzzing the HTTP/1.1 clients against each other: a seeded generator of
// answer byte streams. Each starts as a valid answer (1xx heads, a final head, a body framed by
// Content-Length, chunked with extensions and trailers, or read to the close) and is mutated at
// the places framing hangs on: the status line, field names and values, Content-Length and
// Transfer-Encoding (duplicated, listed, signed, wrong), chunk sizes and extensions, line ends
// (bare LF, bare CR), NULs and other control bytes, bytes after the answer, then cut short at a
// random byte and split at random byte boundaries into the writes the upstream makes. The same
// seed gives the same cases.

/** mulberry32: small, fast, and the same sequence on every platform. */
export class Rng {
  #s: number;

  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** 0 ≤ n < max */
  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
}

export interface FuzzCase {
  readonly id: number;
  /** the whole byte stream the upstream sends for the request */
  readonly bytes: Buffer;
  /** the same bytes as the writes the upstream makes, in order */
  readonly pieces: Buffer[];
  /** a plain answer on the same connection comes first (the fuzzed one answers a reused connection) */
  readonly warm: boolean;
  /** what the generator did, for reading a failure */
  readonly notes: string[];
}

type Field = readonly [string, string];

const NAMES = ['Content-Type', 'X-A', 'Server', 'Mcp-Session-Id', 'Set-Cookie', 'x-b'];
const ODD_NAMES = ['X A', 'X\tA', '', 'X\xe9', 'X-A ', ' X-A', 'X:A', 'X\x00A', '"X"'];
const VALUES = ['v', 'application/json', ' v ', '\tv\t', '', 'a\xe9b', 'a:b', '"q"', 'a, b'];
const ODD_VALUES = ['a\x00b', 'a\rb', 'a\nb', 'a\x7fb', 'a\x01b', 'a\r\nContent-Length: 0', 'a\r\n b'];
const REASONS = ['OK', 'OK', '', 'Not Found', 'caf\xe9', 'a b  c'];
const ODD_REASONS = ['O\x00K', 'O\x01K', 'O\rK', 'O\x7fK', '\tOK'];
const INTERIM = [102, 103, 103, 100, 101, 150, 199];
const STATUSES = [200, 200, 200, 200, 201, 202, 204, 304, 400, 404, 500, 503];
const ODD_STATUSES = ['099', '20', '2000', '600', '999', '2x0', ' 200', '000'];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'];
const ODD_VERSIONS = ['HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', 'HTTP/1.1 ', 'HTTP/11', 'HTTP/1.01', 'HTTPS/1.1'];
const TE_VALUES = ['chunked', 'chunked', 'chunked', 'CHUNKED', ' chunked', 'chunked ', ',chunked', 'chunked,', 'Chunked'];
const ODD_TE = ['chunked, chunked', 'gzip, chunked', 'chunked, gzip', 'identity', '', 'chunked;q=1', 'chunk', 'chunked\x00', 'xchunked'];
const CONNECTION = ['close', 'keep-alive', 'Keep-Alive, close', 'upgrade', 'CLOSE', 'keep-alive,close', 'te'];
const EXTENSIONS = [';a=b', ';a', ';a="q;x"', ';a=b;c=d', ';a="\\""'];
const ODD_EXTENSIONS = ['; a', ' ;a', ';a=\x01', ';a="x', ';', ';=b', ';a=', ';a b', '\t;a', ';a="\x00"'];
const ODD_BYTES = [13, 10, 0, 32, 9, 58, 48, 97, 0x80, 0xff, 59, 127, 1];
const BODY_CHARS = 'abcdefghij0123456789{}":,\r\n ';

/** The line end of one line: CRLF, now and then a bare LF or a bare CR. */
function eol(r: Rng, notes: string[]): string {
  if (r.chance(0.015)) {
    notes.push('bare LF');
    return '\n';
  }
  if (r.chance(0.008)) {
    notes.push('bare CR');
    return '\r';
  }
  return '\r\n';
}

function text(r: Rng, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += BODY_CHARS[r.int(BODY_CHARS.length)];
  return s;
}

function field(r: Rng, notes: string[]): Field {
  const name = r.chance(0.05) ? r.pick(ODD_NAMES) : r.pick(NAMES);
  const value = r.chance(0.06) ? r.pick(ODD_VALUES) : r.pick(VALUES);
  if (!NAMES.includes(name) || !VALUES.includes(value)) notes.push(`field ${JSON.stringify(`${name}: ${value}`)}`);
  return [name, value];
}

function head(r: Rng, notes: string[], version: string, status: string, fields: readonly Field[]): string {
  const reason = r.chance(0.04) ? r.pick(ODD_REASONS) : r.pick(REASONS);
  const statusLine = r.chance(0.05) ? `${version} ${status}` : `${version} ${status} ${reason}`;
  let out = `${statusLine}${eol(r, notes)}`;
  for (const [name, value] of fields) {
    out += `${name}:${r.chance(0.9) ? ' ' : ''}${value}${eol(r, notes)}`;
    if (r.chance(0.01)) {
      notes.push('folded line');
      out += ` folded${eol(r, notes)}`;
    }
  }
  return `${out}${eol(r, notes)}`;
}

/** The Content-Length field(s) of a body of `length` bytes, mostly right. */
function lengthFields(r: Rng, notes: string[], length: number): Field[] {
  const variants: Array<() => Field[]> = [
    () => [['Content-Length', String(length)]],
    () => [['content-length', `00${length}`]],
    () => [['Content-Length', `${length} `]],
    () => [['Content-Length', `${length}\t`]],
    () => [['Content-Length', `+${length}`]],
    () => [['Content-Length', `-${length}`]],
    () => [['Content-Length', `0x${length.toString(16)}`]],
    () => [['Content-Length', `${length}, ${length}`]],
    () => [
      ['Content-Length', String(length)],
      ['Content-Length', String(length)],
    ],
    () => [
      ['Content-Length', String(length)],
      ['Content-Length', String(length + 1)],
    ],
    () => [['Content-Length', String(Math.max(0, length - 1 - r.int(3)))]],
    () => [['Content-Length', String(length + 1 + r.int(3))]],
    () => [['Content-Length', '']],
    () => [['Content-Length', '99999999999999999999']],
    () => [['Content-Length', `${length}x`]],
    () => [['Content-Length', `${length} ${length}`]],
    () => [['Content-Length', `\t${length}`]],
    () => [['Content-Length', `${length} \t `]],
    () => [['Content-Length', `${length}\x00`]],
  ];
  const i = r.chance(0.7) ? 0 : r.int(variants.length);
  if (i !== 0) notes.push(`length variant ${i}`);
  return (variants[i] ?? (variants[0] as () => Field[]))();
}

function teFields(r: Rng, notes: string[]): Field[] {
  if (r.chance(0.12)) {
    const value = r.pick(ODD_TE);
    notes.push(`TE ${JSON.stringify(value)}`);
    return [['Transfer-Encoding', value]];
  }
  const fields: Field[] = [['Transfer-Encoding', r.pick(TE_VALUES)]];
  if (r.chance(0.04)) {
    notes.push('two TE fields');
    fields.push(['Transfer-Encoding', r.pick(TE_VALUES)]);
  }
  return fields;
}

function chunkedBody(r: Rng, notes: string[], body: string): string {
  let out = '';
  let at = 0;
  while (at < body.length) {
    const size = Math.min(body.length - at, 1 + r.int(12));
    const data = body.slice(at, at + size);
    at += size;
    let sizeText = size.toString(16);
    if (r.chance(0.2)) sizeText = sizeText.toUpperCase();
    if (r.chance(0.1)) sizeText = `00${sizeText}`;
    if (r.chance(0.04)) {
      const wrong = Math.max(0, size + r.pick([-1, 1, 2]));
      notes.push(`chunk size ${wrong} for ${size}`);
      sizeText = wrong.toString(16);
    }
    if (r.chance(0.015)) {
      sizeText = r.pick(['-1', ' 1', '1 ', '0x1', 'g', 'FFFFFFFFFFFFFFFFFF', '', '+1']);
      notes.push(`chunk size text ${JSON.stringify(sizeText)}`);
    }
    const ext = extension(r, notes);
    const afterData = r.chance(0.02) ? r.pick(['\n', '', 'X\r\n', '\r', ' \r\n']) : '\r\n';
    if (afterData !== '\r\n') notes.push(`after chunk data ${JSON.stringify(afterData)}`);
    out += `${sizeText}${ext}${eol(r, notes)}${data}${afterData}`;
  }
  out += `${r.chance(0.1) ? '000' : '0'}${extension(r, notes)}${eol(r, notes)}`;
  const trailers = r.chance(0.2) ? 1 + r.int(2) : 0;
  for (let i = 0; i < trailers; i++) {
    const [name, value] = field(r, notes);
    out += `${name}: ${value}${eol(r, notes)}`;
  }
  if (r.chance(0.03)) notes.push('no empty line after the last chunk');
  else out += eol(r, notes);
  return out;
}

function extension(r: Rng, notes: string[]): string {
  if (r.chance(0.015)) {
    const ext = r.pick(ODD_EXTENSIONS);
    notes.push(`extension ${JSON.stringify(ext)}`);
    return ext;
  }
  return r.chance(0.15) ? r.pick(EXTENSIONS) : '';
}

/** A valid-looking answer with the generator's mutations in its structure. */
function answer(r: Rng, notes: string[]): string {
  let out = '';
  if (r.chance(0.04)) {
    notes.push('empty lines first');
    out += '\r\n'.repeat(1 + r.int(2));
  }
  const interim = r.chance(0.15) ? 1 + r.int(2) : 0;
  for (let i = 0; i < interim; i++) {
    const status = r.pick(INTERIM);
    notes.push(`interim ${status}`);
    const fields: Field[] = r.chance(0.5) ? [['Link', '</a>; rel=preload']] : [];
    if (r.chance(0.1)) {
      notes.push('interim with a body');
      fields.push(['Content-Length', '3']);
      out += `${head(r, notes, 'HTTP/1.1', String(status), fields)}abc`;
    } else out += head(r, notes, 'HTTP/1.1', String(status), fields);
  }
  const version = r.chance(0.04) ? r.pick(ODD_VERSIONS) : r.pick(VERSIONS);
  const status = r.chance(0.04) ? r.pick(ODD_STATUSES) : String(r.pick(STATUSES));
  if (!VERSIONS.includes(version) || !/^\d{3}$/.test(status)) notes.push(`status line ${JSON.stringify(`${version} ${status}`)}`);
  const body = text(r, r.chance(0.2) ? 0 : 1 + r.int(40));
  const fields: Field[] = [];
  for (let i = r.int(4); i > 0; i--) fields.push(field(r, notes));
  if (r.chance(0.15)) fields.push(['Connection', r.pick(CONNECTION)]);
  if (r.chance(0.05)) fields.push(['Keep-Alive', r.pick(['timeout=5', 'timeout=1', 'max=3, timeout=10', 'timeout=x'])]);
  const framing = r.pick(['length', 'length', 'length', 'chunked', 'chunked', 'close']);
  notes.push(`framing ${framing}`);
  let bodyBytes = body;
  if (framing === 'length') fields.push(...lengthFields(r, notes, body.length));
  else if (framing === 'chunked') {
    fields.push(...teFields(r, notes));
    if (r.chance(0.05)) {
      notes.push('TE and CL');
      fields.push(['Content-Length', String(body.length)]);
    }
    bodyBytes = chunkedBody(r, notes, body);
  }
  // the framing fields anywhere among the others
  for (let i = fields.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    const a = fields[i];
    const b = fields[j];
    if (a !== undefined && b !== undefined) {
      fields[i] = b;
      fields[j] = a;
    }
  }
  return `${out}${head(r, notes, version, status, fields)}${bodyBytes}`;
}

/** Byte-level damage: a control or framing byte put in, one replaced, one taken out, a line doubled. */
function damage(r: Rng, notes: string[], bytes: Buffer): Buffer {
  let b = bytes;
  for (let n = 1 + r.int(2); n > 0 && b.length > 0; n--) {
    const at = r.int(b.length);
    const kind = r.int(4);
    const byte = r.pick(ODD_BYTES);
    if (kind === 0) b = Buffer.concat([b.subarray(0, at), Buffer.from([byte]), b.subarray(at)]);
    else if (kind === 1) {
      b = Buffer.from(b);
      b[at] = byte;
    } else if (kind === 2) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else {
      const start = b.lastIndexOf(10, at) + 1;
      const end = b.indexOf(10, at);
      if (end < 0) continue;
      b = Buffer.concat([b.subarray(0, end + 1), b.subarray(start, end + 1), b.subarray(end + 1)]);
      notes.push(`line doubled at ${start}`);
      continue;
    }
    notes.push(`${['inserted', 'replaced', 'removed'][kind]} ${byte} at ${at}`);
  }
  return b;
}

const SPLIT_ANSWERS = ['HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil', 'HTTP/1.1 204 No\r\n\r\n', 'junk', '\r\n', '0\r\n\r\n'];

export function fuzzCase(seed: number, id: number): FuzzCase {
  const r = new Rng((seed ^ Math.imul(id + 1, 0x9e3779b1)) >>> 0);
  const notes: string[] = [];
  let bytes: Buffer = Buffer.from(answer(r, notes), 'latin1');
  if (r.chance(0.25)) {
    notes.push('damaged');
    bytes = damage(r, notes, bytes);
  }
  if (r.chance(0.08)) {
    notes.push('bytes after the answer');
    bytes = Buffer.concat([bytes, Buffer.from(r.pick(SPLIT_ANSWERS), 'latin1')]);
  }
  if (r.chance(0.12) && bytes.length > 0) {
    const at = r.int(bytes.length);
    notes.push(`cut at ${at} of ${bytes.length}`);
    bytes = bytes.subarray(0, at);
  }
  const cuts = new Set<number>();
  for (let n = r.int(5); n > 0; n--) cuts.add(1 + r.int(Math.max(1, bytes.length - 1)));
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts].sort((x, y) => x - y)) {
    if (cut <= from || cut >= bytes.length) continue;
    pieces.push(bytes.subarray(from, cut));
    from = cut;
  }
  pieces.push(bytes.subarray(from));
  return { id, bytes, pieces, warm: r.chance(0.3), notes };
}

/** How many cases and which seed: PORTCULLIS_FUZZ_CASES and PORTCULLIS_FUZZ_SEED for a longer
 * or another run, else the fixed ones `npm test` runs. */
export function fuzzSettings(defaultCases: number, defaultSeed: number): { cases: number; seed: number } {
  const cases = Number(process.env['PORTCULLIS_FUZZ_CASES'] ?? defaultCases);
  const seed = Number(process.env['PORTCULLIS_FUZZ_SEED'] ?? defaultSeed);
  if (!Number.isInteger(cases) || cases < 1) throw new Error('PORTCULLIS_FUZZ_CASES: expected a positive integer');
  if (!Number.isInteger(seed)) throw new Error('PORTCULLIS_FUZZ_SEED: expected an integer');
  return { cases, seed };
}
