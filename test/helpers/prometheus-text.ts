// A strict parser of the Prometheus text exposition format (0.0.4), for tests: it refuses what
// Prometheus's own parser refuses (bad names, bad escapes, a family split in two, a second TYPE
// or HELP, a TYPE after the family's samples, duplicate series) and checks what makes a
// histogram one (cumulative buckets, a +Inf bucket equal to _count, _sum and _count present) and
// a counter one (never negative). npm's parse-prometheus-text-format (last released years ago)
// takes malformed names and labels as they come, so this small one is ours.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  readonly name: string;
  readonly labels: ReadonlyMap<string, string>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string | null;
  readonly samples: readonly Sample[];
}

export class ExpositionError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'ExpositionError';
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const FLOAT = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;

function parseValue(text: string, line: number): number {
  if (!FLOAT.test(text)) throw new ExpositionError(line, `not a number: ${JSON.stringify(text)}`);
  const lower = text.toLowerCase().replace(/^\+/, '');
  if (lower === 'nan') return NaN;
  if (lower === 'inf' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  return Number(text);
}

function unescapeHelp(text: string, line: number): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    throw new ExpositionError(line, `bad escape \\${c} in HELP`);
  });
}

/** `{a="x",b="y"}` from `at` (the `{`); the labels and where the text after `}` starts. */
function parseLabels(text: string, at: number, line: number): { labels: Map<string, string>; end: number } {
  const labels = new Map<string, string>();
  let i = at + 1;
  for (;;) {
    if (text[i] === '}') return { labels, end: i + 1 };
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new ExpositionError(line, 'label without =');
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new ExpositionError(line, `bad label name ${JSON.stringify(name)}`);
    if (labels.has(name)) throw new ExpositionError(line, `label ${name} twice`);
    if (text[eq + 1] !== '"') throw new ExpositionError(line, `label ${name}: value not quoted`);
    let value = '';
    let j = eq + 2;
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new ExpositionError(line, `label ${name}: unterminated value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = text[j + 1];
        if (e === '\\' || e === '"') value += e;
        else if (e === 'n') value += '\n';
        else throw new ExpositionError(line, `label ${name}: bad escape \\${e ?? ''}`);
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    labels.set(name, value);
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new ExpositionError(line, `expected , or } after label ${name}`);
  }
}

function parseSample(text: string, line: number): Sample {
  const m = /^([^\s{]+)/.exec(text);
  const name = m?.[1] ?? '';
  if (!METRIC_NAME.test(name)) throw new ExpositionError(line, `bad metric name ${JSON.stringify(name)}`);
  let rest = text.slice(name.length);
  let labels = new Map<string, string>();
  if (rest.startsWith('{')) {
    const parsed = parseLabels(rest, 0, line);
    labels = parsed.labels;
    rest = rest.slice(parsed.end);
  }
  if (!/^[ \t]/.test(rest)) throw new ExpositionError(line, 'expected a blank before the value');
  const parts = rest.trim().split(/[ \t]+/);
  if (parts.length > 2) throw new ExpositionError(line, 'text after the timestamp');
  const [value = '', timestamp] = parts;
  if (timestamp !== undefined && !/^-?\d+$/.test(timestamp)) throw new ExpositionError(line, `bad timestamp ${timestamp}`);
  return { name, labels, value: parseValue(value, line) };
}

/** The family a sample belongs to, given the TYPEs declared so far. */
function familyOf(sample: string, types: ReadonlyMap<string, MetricType>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const base = sample.slice(0, -suffix.length);
    const t = types.get(base);
    if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
  }
  return sample;
}

function seriesKey(s: Sample): string {
  return JSON.stringify([s.name, [...s.labels].sort(([a], [b]) => (a < b ? -1 : 1))]);
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const rest = new Map(s.labels);
    const le = rest.get('le');
    rest.delete('le');
    const key = JSON.stringify([...rest].sort(([a], [b]) => (a < b ? -1 : 1)));
    let g = groups.get(key);
    if (g === undefined) {
      g = { buckets: [] };
      groups.set(key, g);
    }
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: a bucket without le`);
      g.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name === `${f.name}_sum`) g.sum = s.value;
    else if (s.name === `${f.name}_count`) g.count = s.value;
    else throw new Error(`${f.name}: sample ${s.name} is not part of a histogram`);
  }
  for (const [key, g] of groups) {
    if (g.sum === undefined || g.count === undefined) throw new Error(`${f.name}${key}: _sum or _count missing`);
    const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
    const inf = sorted.at(-1);
    if (inf === undefined || inf[0] !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
    if (inf[1] !== g.count) throw new Error(`${f.name}${key}: +Inf bucket ${inf[1]} is not _count ${g.count}`);
    for (let i = 1; i < sorted.length; i++) {
      if ((sorted[i]?.[1] ?? 0) < (sorted[i - 1]?.[1] ?? 0)) throw new Error(`${f.name}${key}: buckets are not cumulative`);
    }
  }
}

/** Every family of `text`, in order. Throws ExpositionError (or Error, for a family that is
 * not what its TYPE says) at the first fault. */
export function parseExposition(text: string): Map<string, Family> {
  if (text !== '' && !text.endsWith('\n')) throw new ExpositionError(text.split('\n').length, 'the last line does not end with a newline');
  const types = new Map<string, MetricType>();
  const helps = new Map<string, string>();
  const samples = new Map<string, Sample[]>();
  const order: string[] = [];
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: string | null = null;
  const enter = (family: string, line: number): void => {
    if (current === family) return;
    if (closed.has(family)) throw new ExpositionError(line, `family ${family} continues after another began`);
    if (current !== null) closed.add(current);
    current = family;
    if (!order.includes(family)) order.push(family);
  };
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(raw);
      if (m === null) return; // a comment
      const [, kind = '', name = '', rest = ''] = m;
      if (!METRIC_NAME.test(name)) throw new ExpositionError(line, `bad metric name ${JSON.stringify(name)}`);
      enter(name, line);
      if (kind === 'TYPE') {
        const type = TYPES.find((t) => t === rest.trim());
        if (type === undefined) throw new ExpositionError(line, `unknown type ${JSON.stringify(rest)}`);
        if (types.has(name)) throw new ExpositionError(line, `second TYPE for ${name}`);
        if ((samples.get(name)?.length ?? 0) > 0) throw new ExpositionError(line, `TYPE for ${name} after its samples`);
        types.set(name, type);
      } else {
        if (helps.has(name)) throw new ExpositionError(line, `second HELP for ${name}`);
        helps.set(name, unescapeHelp(rest, line));
      }
      return;
    }
    const sample = parseSample(raw, line);
    const family = familyOf(sample.name, types);
    enter(family, line);
    const key = seriesKey(sample);
    if (seen.has(key)) throw new ExpositionError(line, `series ${sample.name} given twice`);
    seen.add(key);
    const list = samples.get(family) ?? [];
    list.push(sample);
    samples.set(family, list);
  });
  const out = new Map<string, Family>();
  for (const name of order) {
    const family: Family = { name, type: types.get(name) ?? 'untyped', help: helps.get(name) ?? null, samples: samples.get(name) ?? [] };
    if (family.type === 'histogram') checkHistogram(family);
    if (family.type === 'counter') {
      for (const s of family.samples) {
        if (s.name !== name) throw new Error(`counter ${name}: sample named ${s.name}`);
        if (!(s.value >= 0)) throw new Error(`counter ${name}: value ${s.value}`);
      }
    }
    out.set(name, family);
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined if none. */
export function sampleValue(families: ReadonlyMap<string, Family>, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels.get(k) === v)) return s.value;
    }
  }
  return undefined;
}
