// The CEL of a tracing policy, compiled once per tracer: sampling decisions (agentgateway's
// `eval_rng`: a bool, or a probability drawn per request, over the request alone), and attribute
// values and the keep-filter (over the access log's context once the request is over).

import type { AttributeValue } from '@opentelemetry/api';
import { compileCel, compileLogCel } from '../../protocol/cel-environment.js';
import { celVars, type CelVars } from '../../protocol/cel-values.js';
import { joinedHeaders, type RequestSnapshot } from '../http/request.js';
import { contextOf } from '../log/access-policy.js';
import type { AccessRecord } from '../log/access-record.js';
import { isCredentialLabel, looksLikeCredential, redacted } from '../log/redact.js';

export type Program = (vars: CelVars) => unknown;

export function compile(expr: string): Program {
  const program = compileCel(expr);
  return (vars) => program(vars);
}

/** A sampling decision: null when never (unset), else a function of the request's context. */
export type Sampler = ((vars: () => CelVars) => boolean) | null;

/** `fallback` when the expression is unset; a constant `true`/`false` never runs CEL. */
export function sampler(expr: string | null, fallback: boolean): Sampler {
  const text = expr?.trim() ?? String(fallback);
  if (text === 'false') return null;
  if (text === 'true') return () => true;
  const program = compile(text);
  return (vars) => sampled(program, vars());
}

/** agentgateway's eval_rng: a bool as it is, a number the chance of true (clamped to 0..1); any
 * other value, or an error, is false. */
function sampled(program: Program, vars: CelVars): boolean {
  let v: unknown;
  try {
    v = program(vars);
  } catch {
    return false;
  }
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return Math.random() < Math.min(1, Math.max(0, v));
  if (typeof v === 'bigint') return v >= 1n;
  return false;
}

/** What sampling reads: the request alone (no caller is known yet). */
export function requestVars(snap: RequestSnapshot): CelVars {
  return celVars({
    jwt: null,
    mcp: null,
    request: { method: snap.method, path: snap.path, host: snap.host, headers: joinedHeaders(snap.headers) },
    source: { address: snap.remoteAddress, port: 0 },
  });
}

/** An attribute or the filter: access-log CEL (a rule's context plus `response`), as agentgateway
 * evaluates tracing fields with its logging executor. */
export type EndProgram = (ctx: Readonly<Record<string, unknown>>) => unknown;

export function compileEnd(expr: string): EndProgram {
  const program = compileLogCel(expr);
  return (ctx) => program(ctx);
}

/** What attributes and the filter read once the request is over: the access log's context. */
export function endVars(record: AccessRecord): Readonly<Record<string, unknown>> {
  return contextOf(record.celInput(), true);
}

/** A CEL value as a span attribute: scalars as they are (an int as a number), anything else as
 * its JSON; null when there is nothing to record. */
export function attributeValue(v: unknown): AttributeValue | null {
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v === null || v === undefined) return null;
  try {
    return JSON.stringify(v instanceof Map ? Object.fromEntries(v) : v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x instanceof Map ? Object.fromEntries(x) : x)) ?? null;
  } catch {
    return null;
  }
}

/** An added attribute as exported: a trace is a log, and tokens never reach one, so a value
 * that looks like a credential, or any under a name that does, is the redaction marker. */
export function guardedAttribute(name: string, v: AttributeValue): AttributeValue {
  return isCredentialLabel(name) || (typeof v === 'string' && looksLikeCredential(v)) ? redacted : v;
}

/** The value of a program, or null when it fails. */
export function evaluate<V>(program: (vars: V) => unknown, vars: V): unknown {
  try {
    return program(vars);
  } catch {
    return null;
  }
}
