// Header fields between the client and an upstream: what of the client's request is forwarded
// (hop-by-hop fields and the gateway's own dropped), and what of the upstream's answer is relayed.

import { Buffer, isUtf8 } from 'node:buffer';
import { namesEventStream } from '../../protocol/media-type.js';
import { latin1OfUtf8, nonAscii } from '../http/header-text.js';
import type { HeaderField, HeaderList } from '../http/reply.js';
import { tokens } from './h1/field-syntax.js';

/** Request headers never forwarded: hop-by-hop ones (and those `Connection` names), those the
 * gateway sets itself, and accept-encoding — answers must arrive uncompressed so list results can be filtered. */
const dropRequest = new Set([
  'host', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'content-length', 'expect', 'authorization', 'mcp-session-id',
  'accept-encoding',
]);

/** Response headers never relayed as they are (nor those the upstream's `Connection` names). */
const dropResponse = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'content-length', 'date',
  'trailer', 'upgrade', 'mcp-session-id', 'access-control-allow-origin', 'access-control-allow-credentials',
  'access-control-expose-headers', 'access-control-allow-headers', 'access-control-allow-methods', 'vary',
]);

/** The field names a `Connection` header lists (RFC 9110 §7.6.1): hop-by-hop for this message. */
const noOptions: ReadonlySet<string> = new Set();

function connectionOptions(values: Iterable<string>): ReadonlySet<string> {
  const names = new Set<string>();
  for (const value of values) for (const name of tokens(value)) names.add(name);
  return names;
}

/** A response header field from its bytes. The value is UTF-8 when they are valid UTF-8 (ASCII
 * included), since Reply writes header strings as UTF-8 and so sends those same bytes on.
 * Otherwise (obsolete obs-text) the string is latin1, for what reads it, and the bytes go with
 * it for Reply to send as they came. */
function field(name: string, bytes: Buffer): HeaderField {
  // ASCII (nearly every value) reads the same as latin1 and as UTF-8: one decoding, no UTF-8 check.
  const latin1 = bytes.toString('latin1');
  if (!nonAscii.test(latin1)) return [name, latin1];
  // A copy: undici's buffer is a view of the socket's read, which a long stream would keep alive.
  return isUtf8(bytes) ? [name, bytes.toString('utf8')] : [name, latin1, Buffer.from(bytes)];
}

export function upstreamRequestHeaders(
  headers: ReadonlyArray<readonly [string, string]>,
  extra: { readonly sessionId: string | undefined; readonly authorization: string | undefined },
): Record<string, string> {
  let connection: string[] | null = null;
  for (const [k, v] of headers) if (k === 'connection') (connection ??= []).push(v);
  const hopByHop = connection === null ? noOptions : connectionOptions(connection);
  // No prototype: a client's `constructor` or `__proto__` field is a field like any other.
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of headers) {
    if (dropRequest.has(k) || hopByHop.has(k)) continue;
    const prev = out[k];
    // uWS decoded the client's bytes as UTF-8; undici writes a string as latin1 (refusing
    // characters above U+00FF): the value goes as the latin1 string of its bytes.
    const value = latin1OfUtf8(v);
    // Repeated fields are joined with commas, but cookies with semicolons (RFC 6265 §5.4).
    out[k] = prev === undefined ? value : `${prev}${k === 'cookie' ? '; ' : ', '}${value}`;
  }
  if (extra.sessionId !== undefined) out['mcp-session-id'] = latin1OfUtf8(extra.sessionId);
  if (extra.authorization !== undefined) out['authorization'] = latin1OfUtf8(extra.authorization);
  return out;
}

/** Lower-case forms of the answer field names seen so far, so that a name the client hands on
 * as the same string every time (see h1/seen-fields.ts) is not lowered again in every answer.
 * Bounded: LOWER_NAMES names of up to LOWER_NAME_CHARS (the map starts over when full); longer
 * names are lowered each time. */
const lowerNames = new Map<string, string>();
const LOWER_NAMES = 64;
const LOWER_NAME_CHARS = 32;

function lowerName(name: string): string {
  const known = lowerNames.get(name);
  if (known !== undefined) return known;
  const lower = name.toLowerCase();
  if (name.length <= LOWER_NAME_CHARS) {
    // Full: start over (as h1/seen-fields.ts does), so names sent once cannot keep later ones out.
    if (lowerNames.size >= LOWER_NAMES) lowerNames.clear();
    lowerNames.set(name, lower);
  }
  return lower;
}

/** A response's header fields from undici's raw list (name, value, name, value…): names lower
 * case, values as field() gives them, in arrival order, repeated fields kept apart. */
export function rawFields(raw: ReadonlyArray<Buffer | string>): HeaderList {
  const out: HeaderField[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (name === undefined || value === undefined) continue;
    const lower = typeof name === 'string' ? lowerName(name) : name.toString('latin1').toLowerCase();
    out.push(typeof value === 'string' ? [lower, value] : field(lower, value));
  }
  return out;
}

export function relayResponseHeaders(fields: HeaderList): HeaderField[] {
  let connection: string[] | null = null;
  for (const [k, v] of fields) if (k === 'connection') (connection ??= []).push(v);
  const hopByHop = connection === null ? noOptions : connectionOptions(connection);
  const out: HeaderField[] = [];
  for (const f of fields) {
    const k = f[0];
    if (!dropResponse.has(k) && !hopByHop.has(k)) out.push(f);
  }
  return out;
}

export function firstHeader(fields: HeaderList, name: string): string | undefined {
  for (const [k, v] of fields) if (k === name) return v;
  return undefined;
}

/** The answer is an event stream: one of its Content-Type fields names one (namesEventStream:
 * several fields count as one list, and any event-stream member makes it a stream). */
export function isEventStreamAnswer(fields: HeaderList): boolean {
  for (const [k, v] of fields) if (k === 'content-type' && namesEventStream(v)) return true;
  return false;
}
