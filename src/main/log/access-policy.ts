// `config.logging` for the access log, as agentgateway has it: `filter` (CEL: a request is
// logged only when it is true), `fields.remove` (default fields left out) and `fields.add`
// (name → CEL, appended to the line in order; a default field of the same name gives way to it).
// Compiled once when the gateway starts and evaluated on the main thread as each response ends.
// The context is a rule's (`jwt`, `mcp`, `request`, `source`) plus `response.code`, with
// agentgateway's `mcp.methodName` beside our `mcp.method`. An expression that fails, or gives
// null, leaves its field out; failures are counted. Tokens never reach the line: credential
// headers reach the expressions redacted, and an added field whose name or value looks like a
// credential (redact.ts) is written as `<redacted>`.

import type { ParseResult } from '@marcbachmann/cel-js';
import { compileLogCel } from '../../protocol/cel-environment.js';
import { celVars } from '../../protocol/cel-values.js';
import type { Claims, McpResourceRef } from '../../protocol/worker-contract.js';
import type { LoggingSettings } from '../config/types.js';
import type { RequestSnapshot } from '../http/request.js';
import { clip } from './access-record.js';
import { isCredentialLabel, looksLikeCredential, redacted } from './redact.js';

/** A value an added field can hold once converted from CEL. */
export type AccessValue = string | number | boolean | readonly AccessValue[] | { readonly [key: string]: AccessValue };

/** What the policy does to one line. */
export interface AccessEdit {
  /** default fields left out: those removed, and those an added field replaces */
  readonly remove: ReadonlySet<string>;
  readonly add: ReadonlyArray<readonly [string, AccessValue]>;
}

/** What access-log CEL reads of a request (AccessRecord has it all). */
export interface AccessCelInput {
  readonly claims: Claims | null;
  readonly request: RequestSnapshot;
  /** path and query, credentials in the query redacted */
  readonly path: string;
  readonly srcAddr: string;
  readonly status: number;
  readonly mcpMethod: string | undefined;
  readonly mcpTarget: string | undefined;
  readonly mcpResourceType: string | undefined;
  readonly mcpResourceName: string | undefined;
}

export interface AccessPolicy {
  /** null: the request is not logged */
  edit(input: AccessCelInput): AccessEdit | null;
}

function readsRoot(exprs: readonly string[], root: string): boolean {
  const re = new RegExp(`\\b${root}\\b`);
  return exprs.some((e) => re.test(e));
}

/** The request headers as expressions see them: a credential's value is the redaction marker. */
function loggableHeaders(headers: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const joined = new Map<string, string>();
  for (const [k, v] of headers) {
    const value = isCredentialLabel(k) || looksLikeCredential(v) ? redacted : v;
    const prev = joined.get(k);
    joined.set(k, prev === undefined ? value : `${prev}, ${value}`);
  }
  // fromEntries defines own properties: a `__proto__` header stays a header.
  return Object.fromEntries(joined);
}

function mcpContext(input: AccessCelInput): Record<string, unknown> {
  if (input.mcpMethod === undefined) return {};
  const out: Record<string, unknown> = { method: input.mcpMethod, methodName: input.mcpMethod };
  const kind = input.mcpResourceType;
  if ((kind === 'tool' || kind === 'prompt' || kind === 'resource') && input.mcpResourceName !== undefined) {
    const ref: McpResourceRef = { name: input.mcpResourceName, target: input.mcpTarget ?? '' };
    out[kind] = ref;
  }
  return out;
}

/** What access-log (and tracing) CEL reads of a finished request. */
export function contextOf(input: AccessCelInput, readsRequest: boolean): Record<string, unknown> {
  const r = input.request;
  // agentgateway's `pathAndQuery` too: the logged one, its query's credentials redacted.
  const request = readsRequest ? { method: r.method, path: r.path, host: r.host, headers: loggableHeaders(r.headers), pathAndQuery: input.path } : null;
  const vars = celVars({ jwt: input.claims, mcp: null, request, source: { address: r.remoteAddress, port: 0 } });
  return { ...vars, mcp: mcpContext(input), response: { code: BigInt(input.status) } };
}

function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null;
}

/** A CEL value as a log value; null when there is nothing to write. */
export function loggable(v: unknown): AccessValue | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x: unknown) => loggable(x) ?? '');
  if (v instanceof Map) {
    const out = new Map<string, AccessValue>();
    for (const [k, x] of v) out.set(String(k), loggable(x) ?? '');
    return Object.fromEntries(out);
  }
  if (isRecord(v) && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, loggable(x) ?? '']));
  }
  return String(v);
}

/** The value as written, or the marker when the field or what it holds is a credential. */
function guarded(name: string, value: AccessValue): AccessValue {
  if (isCredentialLabel(name)) return redacted;
  if (typeof value === 'string') return looksLikeCredential(value) ? redacted : (clip(value) ?? '');
  if (typeof value === 'object') {
    const json = JSON.stringify(value);
    return looksLikeCredential(json) ? redacted : value;
  }
  return value;
}

interface CompiledField {
  readonly name: string;
  readonly program: ParseResult;
}

/** null when `config.logging` changes nothing of the access log. Throws the library's
 * ParseError for an expression the loader would have refused. */
export function compileAccessPolicy(settings: LoggingSettings, onCelError: (field: string) => void): AccessPolicy | null {
  if (settings.filter === null && settings.add.length === 0 && settings.remove.length === 0) return null;
  const filter = settings.filter === null ? null : compileLogCel(settings.filter);
  const fields: CompiledField[] = settings.add.map((f) => ({ name: f.name, program: compileLogCel(f.expr) }));
  const remove: ReadonlySet<string> = new Set([...settings.remove, ...settings.add.map((f) => f.name)]);
  const exprs = [...(settings.filter === null ? [] : [settings.filter]), ...settings.add.map((f) => f.expr)];
  const readsRequest = readsRoot(exprs, 'request');
  const needsContext = filter !== null || fields.length > 0;
  const noAdditions: AccessEdit = { remove, add: [] };
  return {
    edit(input) {
      if (!needsContext) return noAdditions;
      const ctx = contextOf(input, readsRequest);
      if (filter !== null) {
        let keep: unknown;
        try {
          keep = filter(ctx);
        } catch {
          onCelError('filter');
          return null;
        }
        if (keep !== true) {
          if (typeof keep !== 'boolean') onCelError('filter');
          return null;
        }
      }
      const add: Array<readonly [string, AccessValue]> = [];
      for (const f of fields) {
        let value: AccessValue | null;
        try {
          value = loggable(f.program(ctx));
        } catch {
          onCelError(f.name);
          continue;
        }
        if (value !== null) add.push([f.name, guarded(f.name, value)]);
      }
      return { remove, add };
    },
  };
}
