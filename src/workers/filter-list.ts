// The `filter` op: drop the items of a list result the caller may not use, optionally
// renaming the rest with their target prefix. Works on the JSON text of one JSON-RPC response
// without parsing or re-serialising it (the main thread's largest cost under tools/list): a
// strict scan finds the list, and the answer is the original text with the dropped items cut out.
import { JsonRpcError, errorMessage, type JsonRpcId } from '../protocol/jsonrpc.js';
import type { FilterRequest } from '../protocol/policy-engine.js';
import type { CelContext, FilterResult, ListKind, McpCelContext } from '../protocol/worker-contract.js';
import { hasNoRules, type CompiledRuleSet } from './cel/compile.js';
import { withoutStackTraces, type ErrorTally } from './cel/decide.js';
import { ListJudge } from './cel/list-judge.js';
import { FAIL, JsonScanner } from '../protocol/json-scan.js';
import type { CachedList, FilteredListCache } from './list-cache.js';

export type { FilterRequest } from '../protocol/policy-engine.js';

/** Whose list it is and how it is named: a filter request but its text. */
export type ListOfCaller = Omit<FilterRequest, 'body'>;

export interface ListShape {
  /** the member holding the item's name */
  readonly nameKey: 'name' | 'uri' | 'uriTemplate';
  /** the CEL `mcp` member naming the item */
  readonly ref: 'tool' | 'prompt' | 'resource';
  /** the method that would use the item */
  readonly callMethod: 'tools/call' | 'prompts/get' | 'resources/read';
  readonly separator: '_' | '+';
}

/** How each list names its items and how calling an item looks (shared with bench's reference filter). */
export const SHAPES: Readonly<Record<ListKind, ListShape>> = {
  tools: { nameKey: 'name', ref: 'tool', callMethod: 'tools/call', separator: '_' },
  prompts: { nameKey: 'name', ref: 'prompt', callMethod: 'prompts/get', separator: '_' },
  resources: { nameKey: 'uri', ref: 'resource', callMethod: 'resources/read', separator: '+' },
  resourceTemplates: { nameKey: 'uriTemplate', ref: 'resource', callMethod: 'resources/read', separator: '+' },
};

const UNCHANGED: FilterResult = { body: null, kept: 0, removed: 0, ruleErrors: 0 };
const LIST_KINDS: readonly ListKind[] = ['tools', 'prompts', 'resources', 'resourceTemplates'];
const OTHER_KINDS = new Map(LIST_KINDS.map((kind) => [kind, LIST_KINDS.filter((k) => k !== kind)]));

const QUOTE = 0x22;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;

/** A kept item: its text is text[start, end), its name's string token text[nameStart, nameEnd). */
interface KeptItem {
  readonly start: number;
  readonly end: number;
  readonly nameStart: number;
  readonly nameEnd: number;
  readonly name: string;
}

/** The CEL context an item is judged in (shared with bench's parse-based reference filter). */
export function itemContext(ctx: CelContext, shape: ListShape, name: string, target: string): CelContext {
  // The item is judged as if it were being called (`mcp.method` is the call method), so a
  // list shows exactly the items whose call the same rules would allow.
  const ref = { name, target };
  const mcp: McpCelContext =
    shape.ref === 'tool'
      ? { method: shape.callMethod, tool: ref }
      : shape.ref === 'prompt'
        ? { method: shape.callMethod, prompt: ref }
        : { method: shape.callMethod, resource: ref };
  return { jwt: ctx.jwt, mcp, request: ctx.request, source: ctx.source };
}

/**
 * The answer when a list may be in the text but cannot be filtered safely: the text is not
 * valid JSON, or `result`, the list or an item's name occurs twice in its object (JSON.parse,
 * like most clients, keeps the last one, so what we judged need not be what the client reads).
 * The list is never passed on then; the client gets an error for its request instead.
 */
function refused(scan: JsonScanner, ruleErrors: number): FilterResult {
  const body = errorMessage(messageId(scan), JsonRpcError.internalError, 'upstream answer could not be filtered');
  return { body, kept: 0, removed: 0, ruleErrors };
}

/** The top-level `id` when it occurs once before any invalid text and is a string or finite number. */
function messageId(scan: JsonScanner): JsonRpcId | null {
  const found: { count: number; id: JsonRpcId | null } = { count: 0, id: null };
  scan.walkObject(scan.skipWhitespace(0), (nameStart, nameEnd, valueStart) => {
    const end = scan.skipValue(valueStart);
    if (end !== FAIL && scan.tokenEquals(nameStart, nameEnd, 'id')) {
      found.count++;
      found.id = idValue(scan, valueStart, end);
    }
    return end;
  });
  return found.count === 1 ? found.id : null;
}

function idValue(scan: JsonScanner, start: number, end: number): JsonRpcId | null {
  const c = scan.text.charCodeAt(start);
  if (c === QUOTE) return scan.stringValue(start, end);
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    const n = Number(scan.text.slice(start, end)); // a scanned JSON number, which Number reads as JSON.parse does
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/**
 * What decides the outcome of filtering a given `result` text (see list-cache.ts), or null when
 * it cannot be written down one-to-one. JSON.stringify is one-to-one on what claims parsed from
 * JSON hold, except -0 (written `0`), non-finite numbers (written `null`) and undefined members
 * (left out), all of which CEL can tell apart: a context holding one is not cached. Separators:
 * JSON text never holds a raw U+0000, so the last one ends the target.
 */
export function cacheKey(rules: CompiledRuleSet, req: ListOfCaller): string | null {
  const { jwt, mcp, request, source } = req.ctx;
  const claims = jwt === null ? 'null' : claimsJson(jwt);
  // Rules that read neither the request nor the source leave them null: no text to write then
  // ('' is no JSON text, so it cannot stand for another context).
  const others = mcp === null && request === null && source === null ? '' : exactJson({ mcp, request, source });
  if (claims === null || others === null) return null;
  return `${rules.id}\u0000${req.list}\u0000${req.prefix ? 1 : 0}\u0000${req.target}\u0000${claims}\u0000${others}`;
}

/** JSON.stringify's text of `v` when it stands for `v` one-to-one, else null. Checked by a walk
 * before a plain JSON.stringify: a replacer function costs a call into JS for every value, for a
 * context that is mostly nulls. */
function exactJson(v: unknown): string | null {
  return writesExactly(v) ? JSON.stringify(v) : null;
}

function writesExactly(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (typeof v !== 'object' || v === null) return v !== undefined;
  if (Array.isArray(v)) {
    for (const x of v) if (!writesExactly(x)) return false;
    return true;
  }
  for (const k in v) if (Object.hasOwn(v, k) && !writesExactly(Reflect.get(v, k))) return false;
  return true;
}

/** A token's claims object is the same one for every request that reuses the token (the
 * verified-token cache hands it out, frozen), so its key text is written once per token rather
 * than by JSON.stringify with a replacer on every request. */
const claimsKeys = new WeakMap<object, string | null>();

function claimsJson(claims: object): string | null {
  let json = claimsKeys.get(claims);
  if (json === undefined) {
    json = exactJson(claims);
    // Only a frozen object can be known not to change under its memoised text.
    if (Object.isFrozen(claims)) claimsKeys.set(claims, json);
  }
  return json;
}

/** Where the message's `result` value most likely starts (after the first `"result":` and any
 * whitespace), or -1: a place to look first (FilteredListCache.find), never trusted as such. */
function resultHint(text: string): number {
  const at = text.indexOf('"result":');
  if (at < 0) return -1;
  let i = at + 9;
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  return i;
}

/**
 * Whether `outline` (a message with a remembered `result` value replaced by `{}` at `at`) is
 * valid JSON around it and that occurrence is the message's one top-level `result`. `{}`, like
 * the remembered object, starts and ends on a delimiter, so it cannot join a neighbouring token
 * as a `0` would join `.5`.
 */
export function soleResultAt(outline: string, at: number): boolean {
  const scan = new JsonScanner(outline);
  let results = 0;
  let atResult = false;
  const end = scan.walkObject(scan.skipWhitespace(0), (nameStart, nameEnd, valueStart) => {
    const valueEnd = scan.skipValue(valueStart);
    if (scan.tokenEquals(nameStart, nameEnd, 'result')) {
      results++;
      atResult = valueStart === at && valueEnd === at + 2;
    }
    return valueEnd;
  });
  return end !== FAIL && scan.skipWhitespace(end) === outline.length && results === 1 && atResult;
}

/** A remembered `result` text found at `at`: the answer, if that occurrence is the message's one
 * top-level `result` in otherwise valid JSON (soleResultAt); null otherwise (then the message is
 * filtered in full). */
function reuse(text: string, hit: { readonly entry: CachedList; readonly at: number }): FilterResult | null {
  const { entry, at } = hit;
  const after = at + entry.result.length;
  if (!soleResultAt(`${text.slice(0, at)}{}${text.slice(after)}`, at)) return null;
  const counts = { kept: entry.kept, removed: entry.removed, ruleErrors: entry.ruleErrors, resultSpan: [at, after] as const };
  return { body: entry.filtered === null ? null : `${text.slice(0, at)}${entry.filtered}${text.slice(after)}`, ...counts };
}

/** The remembered answer for this request's list, or null (then filter it in full). */
export function cachedFilterList(rules: CompiledRuleSet, req: FilterRequest, cache: FilteredListCache): FilterResult | null {
  const key = cacheKey(rules, req);
  const hit = key === null ? null : cache.find(key, req.body, resultHint(req.body));
  const reused = hit === null ? null : reuse(req.body, hit);
  cache.count(reused !== null);
  return reused;
}

/**
 * Remembers what filtering `req` gave: a result carrying the span of the message's `result`
 * (from this engine, or from a pool worker running the same code). The checks here catch a
 * result paired with the wrong message, not a filter bug (the worker runs this same code): the
 * span and its filtered form must be objects, and the text on both sides must be as it was.
 */
export function rememberFilterList(rules: CompiledRuleSet, req: FilterRequest, cache: FilteredListCache, result: FilterResult): void {
  const span = result.resultSpan;
  const key = span === undefined ? null : cacheKey(rules, req);
  if (span === undefined || key === null) return;
  const [start, end] = span;
  const text = req.body;
  if (!(start >= 0 && start < end && end <= text.length) || text[start] !== '{' || text[end - 1] !== '}') return;
  const before = text.slice(0, start);
  const after = text.slice(end);
  let filtered: string | null = null;
  if (result.body !== null) {
    const body = result.body;
    if (body.length < before.length + after.length || !body.startsWith(before) || !body.endsWith(after)) return;
    // The filter changes nothing outside the list, which lies inside `result`.
    filtered = body.slice(start, body.length - after.length);
    if (filtered[0] !== '{' || filtered[filtered.length - 1] !== '}') return;
  }
  cache.add(key, { result: text.slice(start, end), filtered, kept: result.kept, removed: result.removed, ruleErrors: result.ruleErrors });
}

/** Filters a list result; with a cache, a list seen before under the same key is not scanned again. */
export function filterList(rules: CompiledRuleSet, req: FilterRequest, cache: FilteredListCache | null = null): FilterResult {
  if (cache === null) return filterText(rules, req);
  const cached = cachedFilterList(rules, req, cache);
  if (cached !== null) return cached;
  const result = filterText(rules, req);
  rememberFilterList(rules, req, cache, result);
  return result;
}

/** The scan itself; a result whose list was filtered carries the span of the message's `result`. */
function filterText(rules: CompiledRuleSet, req: FilterRequest): FilterResult {
  const text = req.body;
  const scan = new JsonScanner(text);
  const shape = SHAPES[req.list];
  const otherKinds = OTHER_KINDS.get(req.list) ?? LIST_KINDS;
  const everyoneAllowed = hasNoRules(rules);
  const tally: ErrorTally = { count: 0 };
  const judge = new ListJudge(rules, tally);

  // Where the walk is. Every value on the way is scanned strictly (skipValue checks what it
  // skips), so the single pass that finds the list also checks the whole text.
  const walk = { results: 0, lists: 0, isList: false, items: 0, first: 0, last: 0, resultStart: 0, resultEnd: 0 };
  const kept: KeptItem[] = [];
  // The item being walked: how often its name member occurs, and the name's string token.
  const item = { names: 0, nameStart: FAIL, nameEnd: FAIL };

  const onItemMember = (keyStart: number, keyEnd: number, valueStart: number): number => {
    if (!scan.tokenEquals(keyStart, keyEnd, shape.nameKey)) return scan.skipValue(valueStart);
    if (++item.names > 1) return FAIL; // two names: refused, see refused()
    if (text.charCodeAt(valueStart) !== QUOTE) return scan.skipValue(valueStart); // not a string: dropped below
    item.nameStart = valueStart;
    item.nameEnd = scan.skipString(valueStart);
    return item.nameEnd;
  };
  const onItem = (start: number): number => {
    if (walk.items++ === 0) walk.first = start;
    if (text.charCodeAt(start) !== OPEN_BRACE) {
      walk.last = scan.skipValue(start); // not an object: dropped
      return walk.last;
    }
    item.names = 0;
    item.nameStart = FAIL;
    const end = scan.walkObject(start, onItemMember);
    walk.last = end;
    if (end === FAIL || item.nameStart === FAIL) return end; // unnamed: cannot be judged, so dropped
    const name = scan.stringValue(item.nameStart, item.nameEnd);
    if (name === null) return FAIL;
    if (everyoneAllowed || judge.allows(itemContext(req.ctx, shape, name, req.target))) {
      kept.push({ start, end, nameStart: item.nameStart, nameEnd: item.nameEnd, name });
    }
    return end;
  };
  const onResultMember = (keyStart: number, keyEnd: number, valueStart: number): number => {
    if (!scan.tokenEquals(keyStart, keyEnd, req.list)) {
      // Another kind's items (a prompts list answering tools/list) would reach the client
      // unjudged: refused. An empty one holds nothing to judge.
      if (text.charCodeAt(valueStart) === OPEN_BRACKET && otherKinds.some((k) => scan.tokenEquals(keyStart, keyEnd, k))) {
        if (text.charCodeAt(scan.skipWhitespace(valueStart + 1)) !== CLOSE_BRACKET) return FAIL;
      }
      return scan.skipValue(valueStart);
    }
    if (++walk.lists > 1) return FAIL; // two lists: refused
    if (text.charCodeAt(valueStart) !== OPEN_BRACKET) return scan.skipValue(valueStart); // not a list result
    walk.isList = true;
    return scan.walkArray(valueStart, onItem);
  };
  const onTopMember = (keyStart: number, keyEnd: number, valueStart: number): number => {
    if (!scan.tokenEquals(keyStart, keyEnd, 'result')) return scan.skipValue(valueStart);
    if (++walk.results > 1) return FAIL; // two results: refused
    if (text.charCodeAt(valueStart) !== OPEN_BRACE) return scan.skipValue(valueStart); // not a list result
    walk.resultStart = valueStart;
    walk.resultEnd = scan.walkObject(valueStart, onResultMember);
    return walk.resultEnd;
  };

  const top = scan.skipWhitespace(0);
  // A scalar is no list result; a batch (an array) may hold one, and answers one request only
  // in protocol versions we do not speak: refused, as is invalid JSON.
  if (text.charCodeAt(top) !== OPEN_BRACE) return text.charCodeAt(top) !== OPEN_BRACKET && scan.isJsonText() ? UNCHANGED : refused(scan, 0);
  const end = withoutStackTraces(() => scan.walkObject(top, onTopMember));
  if (end === FAIL || scan.skipWhitespace(end) !== text.length) return refused(scan, tally.count);
  // Anything but a list result (an error response, another shape) passes through untouched.
  if (!walk.isList) return UNCHANGED;

  const removed = walk.items - kept.length;
  const counts = { kept: kept.length, removed, ruleErrors: tally.count, resultSpan: [walk.resultStart, walk.resultEnd] as const };
  if (removed === 0 && !req.prefix) return { body: null, ...counts };
  if (walk.items === 0) return { body: text, ...counts };
  return { body: keptText(req, shape, kept, walk.first, walk.last), ...counts };
}

/**
 * The original text around the list's elements (which lie from `first` to `last`) and the kept
 * elements' own text: what the client reads is byte for byte what the upstream sent, but for
 * the separators and the new names.
 */
function keptText(req: FilterRequest, shape: ListShape, kept: readonly KeptItem[], first: number, last: number): string {
  const text = req.body;
  let body = text.slice(0, first);
  let separator = '';
  for (const k of kept) {
    body += separator;
    separator = ',';
    body += req.prefix
      ? text.slice(k.start, k.nameStart) + JSON.stringify(`${req.target}${shape.separator}${k.name}`) + text.slice(k.nameEnd, k.end)
      : text.slice(k.start, k.end);
  }
  body += text.slice(last);
  return body;
}
