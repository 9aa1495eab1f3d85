// A tiny typed reader for YAML data of unknown shape. Every accessor narrows `unknown`; when a
// value does not fit it records an issue naming the full config path and returns undefined, so
// the caller carries on and the load reports every problem at once instead of the first one.

import type { ConfigIssue } from './types.js';

export const NOT_SUPPORTED = 'not supported by Portcullis';

/** Collects issues in document order. An empty path means the document root. */
export class IssueList {
  readonly items: ConfigIssue[] = [];

  add(path: string, message: string): void {
    this.items.push({ path: path === '' ? '<root>' : path, message });
  }

  get count(): number {
    return this.items.length;
  }
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `parent.key`, or `parent["odd key"]` when the key would make the path ambiguous. */
export function keyPath(parent: string, key: string): string {
  if (!PLAIN_KEY.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** One element of a YAML list, with its path. */
export interface Item {
  readonly path: string;
  readonly value: unknown;
}

/** Plain YAML mappings only: `!!set`/`!!omap` come out of `yaml` as Set/Map and are not config. */
export function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function asString(issues: IssueList, path: string, value: unknown, nonEmpty = false): string | undefined {
  if (typeof value !== 'string') {
    issues.add(path, nonEmpty ? 'expected a non-empty string' : 'expected a string');
    return undefined;
  }
  if (nonEmpty && value === '') {
    issues.add(path, 'expected a non-empty string');
    return undefined;
  }
  return value;
}

export function asBoolean(issues: IssueList, path: string, value: unknown): boolean | undefined {
  if (typeof value !== 'boolean') {
    issues.add(path, 'expected true or false');
    return undefined;
  }
  return value;
}

export interface IntRange {
  readonly min: number;
  readonly max?: number;
}

export function asInteger(issues: IssueList, path: string, value: unknown, range: IntRange): number | undefined {
  const { min, max } = range;
  const ok =
    typeof value === 'number' && Number.isSafeInteger(value) && value >= min && (max === undefined || value <= max);
  if (!ok) {
    issues.add(path, max === undefined ? `expected an integer of at least ${min}` : `expected an integer from ${min} to ${max}`);
    return undefined;
  }
  return value;
}

export function asOneOf<T extends string>(
  issues: IssueList,
  path: string,
  value: unknown,
  allowed: readonly T[],
): T | undefined {
  const found = allowed.find((a) => a === value);
  if (found === undefined) issues.add(path, `expected one of ${allowed.join(', ')}`);
  return found;
}

export function asList(issues: IssueList, path: string, value: unknown): Item[] | undefined {
  if (!Array.isArray(value)) {
    issues.add(path, 'expected a list');
    return undefined;
  }
  const list: readonly unknown[] = value;
  return list.map((v, i) => ({ path: indexPath(path, i), value: v }));
}

export function asStringList(issues: IssueList, path: string, value: unknown): string[] | undefined {
  const items = asList(issues, path, value);
  if (items === undefined) return undefined;
  const out: string[] = [];
  let ok = true;
  for (const item of items) {
    const s = asString(issues, item.path, item.value);
    if (s === undefined) ok = false;
    else out.push(s);
  }
  return ok ? out : undefined;
}

/** Which keys a mapping may hold. */
export interface KeySpec {
  /** keys Portcullis reads */
  readonly known: readonly string[];
  /** keys agentgateway accepts here that Portcullis does not implement (a distinct message) */
  readonly unsupported?: readonly string[];
}

/**
 * A YAML mapping whose keys were checked against a KeySpec. A key holding `null` (`key:` with
 * nothing after it) reads as absent, as serde's `Option` does in agentgateway.
 */
export class MapReader {
  readonly path: string;
  readonly issues: IssueList;
  readonly #entries: ReadonlyMap<string, unknown>;

  private constructor(issues: IssueList, path: string, entries: ReadonlyMap<string, unknown>) {
    this.issues = issues;
    this.path = path;
    this.#entries = entries;
  }

  static open(issues: IssueList, path: string, value: unknown, spec: KeySpec): MapReader | undefined {
    if (!isPlainObject(value)) {
      issues.add(path, 'expected a mapping');
      return undefined;
    }
    const entries = new Map<string, unknown>();
    for (const [key, v] of Object.entries(value)) {
      if (spec.known.includes(key)) entries.set(key, v);
      else if (spec.unsupported?.includes(key) === true) {
        issues.add(keyPath(path, key), NOT_SUPPORTED);
        entries.set(key, v); // kept so choice() sees it and does not also say "required"
      } else issues.add(keyPath(path, key), 'unknown key');
    }
    return new MapReader(issues, path, entries);
  }

  at(key: string): string {
    return keyPath(this.path, key);
  }

  /** The key is written, even as `key:` with no value. */
  hasKey(key: string): boolean {
    return this.#entries.has(key);
  }

  /** The key is written with a non-null value. */
  has(key: string): boolean {
    const v = this.#entries.get(key);
    return v !== undefined && v !== null;
  }

  raw(key: string): unknown {
    return this.#entries.get(key);
  }

  /** The value, or undefined when absent/null (an issue `required` when it must be there). */
  value(key: string, required = false): unknown {
    const v = this.#entries.get(key);
    if (v === undefined || v === null) {
      if (required) this.issues.add(this.at(key), 'required');
      return undefined;
    }
    return v;
  }

  string(key: string, opts: { required?: boolean; nonEmpty?: boolean } = {}): string | undefined {
    const v = this.value(key, opts.required);
    return v === undefined ? undefined : asString(this.issues, this.at(key), v, opts.nonEmpty);
  }

  boolean(key: string): boolean | undefined {
    const v = this.value(key);
    return v === undefined ? undefined : asBoolean(this.issues, this.at(key), v);
  }

  integer(key: string, range: IntRange, required = false): number | undefined {
    const v = this.value(key, required);
    return v === undefined ? undefined : asInteger(this.issues, this.at(key), v, range);
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const v = this.value(key);
    return v === undefined ? undefined : asOneOf(this.issues, this.at(key), v, allowed);
  }

  list(key: string, required = false): Item[] | undefined {
    const v = this.value(key, required);
    return v === undefined ? undefined : asList(this.issues, this.at(key), v);
  }

  stringList(key: string): string[] | undefined {
    const v = this.value(key);
    return v === undefined ? undefined : asStringList(this.issues, this.at(key), v);
  }

  map(key: string, spec: KeySpec, required = false): MapReader | undefined {
    const v = this.value(key, required);
    return v === undefined ? undefined : MapReader.open(this.issues, this.at(key), v, spec);
  }

  /**
   * For mappings that hold exactly one of several alternative keys (a target's kind, a path
   * match, a rule's kind). Returns the one present, or undefined with an issue when there is
   * none or more than one. An unsupported alternative counts as present but returns undefined:
   * it has already been reported.
   */
  choice<T extends string>(choices: readonly T[], unsupported: readonly string[] = []): T | undefined {
    const present = [...choices, ...unsupported].filter((k) => this.hasKey(k));
    if (present.length === 0) {
      this.issues.add(this.path, `required: one of ${choices.join(', ')}`);
      return undefined;
    }
    if (present.length > 1) {
      this.issues.add(this.path, `expected only one of ${choices.join(', ')} (found ${present.join(', ')})`);
      return undefined;
    }
    return choices.find((c) => c === present[0]);
  }
}
