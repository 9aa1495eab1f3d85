// Counters and histograms whose hot path is a number bumped in a cell, exposed through
// prom-client. prom-client's own `inc(labels)` / `observe(labels, v)` build a label hash string
// and validate the labels on every call (its `labels()` children do too); here a request finds
// its cell by walking one Map level per label value, with no string built, and prom-client reads
// the cells when a scrape asks (counters through `collect`, histograms through `get`), so the
// text format, its escaping and HELP/TYPE lines stay prom-client's.

import { Counter, Histogram, type Registry } from 'prom-client';

export type LabelSet<N extends string> = Readonly<Record<N, string>>;

/** Series per family; past it, new label sets count in one series whose every label is
 * `overflowValue`. Labels come from config and fixed sets; should one ever carry a caller's
 * text, memory and the scrape stay bounded all the same. */
const maxSeries = 10_000;
export const overflowValue = '__overflow__';

/** `labels` reduced to `names` (a caller's object may hold more, or be changed later). */
function labelSet<N extends string>(names: readonly N[], value: (name: N) => string): LabelSet<N> {
  const out: Record<string, string> = {};
  for (const name of names) out[name] = value(name);
  if (!hasLabels(out, names)) throw new TypeError('label set incomplete');
  return out;
}

function hasLabels<N extends string>(o: unknown, names: readonly N[]): o is LabelSet<N> {
  return typeof o === 'object' && o !== null && names.every((n) => n in o);
}

interface Node<C> {
  readonly next: Map<string, Node<C>>;
  cell: C | null;
}

/** Cells of one family, one per label set, found by label values. */
class SeriesTable<N extends string, C extends { readonly labels: LabelSet<N> }> {
  readonly cells: C[] = [];
  readonly #root: Node<C> = { next: new Map(), cell: null };
  readonly #names: readonly N[];
  readonly #make: (labels: LabelSet<N>) => C;
  #overflow: C | null = null;

  constructor(names: readonly N[], make: (labels: LabelSet<N>) => C) {
    this.#names = names;
    this.#make = make;
  }

  /** The cell of `labels`, made on first use. */
  cell(labels: LabelSet<N>): C {
    let node = this.#root;
    for (const name of this.#names) {
      const value = labels[name];
      let child = node.next.get(value);
      if (child === undefined) {
        if (this.cells.length >= maxSeries) return this.#overflowCell();
        child = { next: new Map(), cell: null };
        node.next.set(value, child);
      }
      node = child;
    }
    if (node.cell === null) {
      if (this.cells.length >= maxSeries) return this.#overflowCell();
      node.cell = this.#make(labelSet(this.#names, (name) => labels[name]));
      this.cells.push(node.cell);
    }
    return node.cell;
  }

  /** The cell of `labels` if it was ever made. */
  find(labels: LabelSet<N>): C | null {
    let node: Node<C> | undefined = this.#root;
    for (const name of this.#names) {
      node = node.next.get(labels[name]);
      if (node === undefined) return null;
    }
    return node.cell;
  }

  #overflowCell(): C {
    if (this.#overflow === null) {
      this.#overflow = this.#make(labelSet(this.#names, () => overflowValue));
      this.cells.push(this.#overflow);
    }
    return this.#overflow;
  }
}

export interface CounterCell<N extends string> {
  readonly labels: LabelSet<N>;
  value: number;
}

/** The cell found by the last label values asked for, found again only when they change:
 * consecutive requests mostly count in the same series, and finding a cell walks a Map per
 * label. Up to four values, compared in place (no key or label object built per request). */
export class LastCell<C> {
  readonly #find: (a: string, b: string, c: string, d: string) => C;
  #a = '';
  #b = '';
  #c = '';
  #d = '';
  #cell: C | null = null;

  constructor(find: (a: string, b: string, c: string, d: string) => C) {
    this.#find = find;
  }

  get(a: string, b = '', c = '', d = ''): C {
    if (this.#cell === null || a !== this.#a || b !== this.#b || c !== this.#c || d !== this.#d) {
      this.#cell = this.#find(a, b, c, d);
      this.#a = a;
      this.#b = b;
      this.#c = c;
      this.#d = d;
    }
    return this.#cell;
  }
}

export class CounterFamily<N extends string = never> {
  readonly name: string;
  readonly #table: SeriesTable<N, CounterCell<N>>;

  constructor(registry: Registry, name: string, help: string, labelNames: readonly N[]) {
    this.name = name;
    const table = new SeriesTable<N, CounterCell<N>>(labelNames, (labels) => ({ labels, value: 0 }));
    this.#table = table;
    if (labelNames.length === 0) table.cell(labelSet(labelNames, () => ''));
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const c of table.cells) this.inc(c.labels, c.value);
      },
    });
  }

  inc(labels: LabelSet<N>, by = 1): void {
    this.#table.cell(labels).value += by;
  }

  /** A cell to bump directly, for a label set known ahead of the requests that count in it. */
  cell(labels: LabelSet<N>): CounterCell<N> {
    return this.#table.cell(labels);
  }

  get(labels: LabelSet<N>): number {
    return this.#table.find(labels)?.value ?? 0;
  }
}

export interface HistogramCell<N extends string> {
  readonly labels: LabelSet<N>;
  /** per bucket, not cumulative; the last one is +Inf */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** Request latencies, seconds: 1 ms to 10 s. */
export const latencyBuckets: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type HistogramData<N extends string> = Awaited<ReturnType<Histogram<N>['get']>>;

declare module 'prom-client' {
  // What the registry reads a histogram's text through (prom-client 15 leaves it out of its
  // types); `get`, for JSON, reads it too.
  interface Histogram<T extends string> {
    getForPromString(): Promise<HistogramData<T>>;
  }
}

/** prom-client's Histogram for HELP, TYPE and the text format; its values come from the cells
 * (a test checks the text holds what was observed). */
class CellHistogram<N extends string> extends Histogram<N> {
  readonly #table: SeriesTable<N, HistogramCell<N>>;
  readonly #buckets: readonly number[];
  readonly #name: string;

  constructor(registry: Registry, name: string, help: string, labelNames: readonly N[], buckets: readonly number[], table: SeriesTable<N, HistogramCell<N>>) {
    super({ name, help, labelNames, buckets: [...buckets], registers: [registry] });
    this.#table = table;
    this.#buckets = buckets;
    this.#name = name;
  }

  override async getForPromString(): Promise<HistogramData<N>> {
    return { ...(await super.getForPromString()), values: this.#values() };
  }

  #values(): HistogramData<N>['values'] {
    const values: HistogramData<N>['values'] = [];
    const bucket = `${this.#name}_bucket`;
    for (const c of this.#table.cells) {
      let cumulative = 0;
      this.#buckets.forEach((le, i) => {
        cumulative += c.counts[i] ?? 0;
        values.push({ metricName: bucket, labels: { ...c.labels, le }, value: cumulative });
      });
      values.push(
        { metricName: bucket, labels: { ...c.labels, le: '+Inf' }, value: c.count },
        { metricName: `${this.#name}_sum`, labels: c.labels, value: c.sum },
        { metricName: `${this.#name}_count`, labels: c.labels, value: c.count },
      );
    }
    return values;
  }
}

export class HistogramFamily<N extends string = never> {
  readonly name: string;
  readonly #table: SeriesTable<N, HistogramCell<N>>;
  readonly #buckets: readonly number[];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly N[], buckets: readonly number[] = latencyBuckets) {
    this.name = name;
    this.#buckets = buckets;
    this.#table = new SeriesTable<N, HistogramCell<N>>(labelNames, (labels) => ({
      labels,
      counts: new Array<number>(buckets.length + 1).fill(0),
      sum: 0,
      count: 0,
    }));
    if (labelNames.length === 0) this.#table.cell(labelSet(labelNames, () => ''));
    new CellHistogram(registry, name, help, labelNames, buckets, this.#table);
  }

  observe(labels: LabelSet<N>, value: number): void {
    this.observeIn(this.#table.cell(labels), value);
  }

  /** A cell to observe in directly, for a label set known ahead of the requests that count in it. */
  cell(labels: LabelSet<N>): HistogramCell<N> {
    return this.#table.cell(labels);
  }

  observeIn(c: HistogramCell<N>, value: number): void {
    const b = this.#buckets;
    let i = 0;
    while (i < b.length && value > (b[i] ?? Infinity)) i++;
    c.counts[i] = (c.counts[i] ?? 0) + 1;
    c.sum += value;
    c.count++;
  }

  /** Observations so far in the series of `labels`. */
  count(labels: LabelSet<N>): number {
    return this.#table.find(labels)?.count ?? 0;
  }
}
