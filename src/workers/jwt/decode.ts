// Strict compact-JWS parsing: three base64url segments, header and payload JSON objects.
// Nothing here is trusted yet; the signature is checked later over the original bytes.
import { Buffer, isUtf8 } from 'node:buffer';
import { deepFreeze } from '../../protocol/deep-freeze.js';
import { parsedMemberProblem, type MemberProblem } from '../../protocol/json-members.js';

/** Larger tokens are refused before any parsing (a bearer token is ~0.3–2 KiB). */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export type JsonObject = Record<string, unknown>;

export interface DecodedJws {
  readonly header: JsonObject;
  /** parsed but unverified claims */
  readonly payload: JsonObject;
  /** ASCII bytes of `<header>.<payload>`, what the signature covers */
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

export type DecodeOutcome = { readonly ok: true; readonly jws: DecodedJws } | { readonly ok: false; readonly detail: string };

// Only the base64url alphabet, no padding; the signature may be empty (so `alg: none`
// tokens get the precise `alg_not_allowed` rather than `malformed`). Checked in two parts, the
// header segment (unless it is a remembered one: those all passed) and the rest from the first
// dot on; together they are `^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$`.
const HEADER_SEGMENT = /^[A-Za-z0-9_-]+$/;
const REST = /\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/y;

/**
 * Decoded, checked JOSE headers by their segment's text: every token of one IdP key carries the
 * same header segment, so fresh tokens need not decode it again each.
 *
 * Nothing here is trusted, and nothing needs to be: a header is only data its token carries, and
 * decoding is a function of the segment's text alone (base64url, UTF-8, JSON.parse and the member
 * check read nothing else), so an entry is exactly what decoding that text again would give,
 * whichever token put it there and whether or not it verified. Only headers that decoded without
 * a problem are kept, frozen, as every token with that segment shares the object. Bounded: at
 * most REMEMBERED_HEADERS entries of at most REMEMBERED_HEADER_CHARS characters; when full it is
 * emptied, so a flood of distinct headers costs each a decode, as without it, and the IdP's
 * header is back at its next token.
 */
const rememberedHeaders = new Map<string, ParsedObject>();
export const REMEMBERED_HEADERS = 32;
const REMEMBERED_HEADER_CHARS = 1024;

function rememberHeader(segment: string, header: ParsedObject): void {
  if (segment.length > REMEMBERED_HEADER_CHARS) return;
  if (rememberedHeaders.size >= REMEMBERED_HEADERS) rememberedHeaders.clear();
  deepFreeze(header.value);
  // A copy: the segment is a slice of its token, and would keep the whole token alive.
  rememberedHeaders.set(Buffer.from(segment, 'latin1').toString('latin1'), header);
}

/** How many headers are remembered (for tests). */
export function rememberedHeaderCount(): number {
  return rememberedHeaders.size;
}


const NOT_THREE_SEGMENTS = 'token is not three base64url segments';

function fail(detail: string): DecodeOutcome {
  return { ok: false, detail };
}

/** A base64url segment whose length leaves 1 char over cannot come from whole bytes. */
function badLength(segment: string): boolean {
  return segment.length % 4 === 1;
}

interface ParsedObject {
  readonly value: JsonObject;
  readonly text: string;
}

function parseObject(segment: string): ParsedObject | null {
  const bytes = Buffer.from(segment, 'base64url');
  if (!isUtf8(bytes)) return null;
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return isJsonObject(value) ? { value, text } : null;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Claims walked by rules, filters and the worker codec must not be nested past what they can
 * walk: a claim 3,000 levels deep would otherwise fail every request of its holder later. */
function problemText(part: 'token header' | 'token claims', problem: MemberProblem): string {
  const one = part === 'token header';
  if (problem.kind === 'duplicate') return `${part} ${one ? 'has' : 'have'} a duplicate member ${JSON.stringify(problem.name).slice(0, 40)}`;
  return `${part} ${one ? 'is' : 'are'} nested deeper than ${problem.limit} levels`;
}

export function decodeCompactJws(token: string): DecodeOutcome {
  if (token.length > MAX_TOKEN_LENGTH) return fail(`token is longer than ${MAX_TOKEN_LENGTH} characters`);
  const firstDot = token.indexOf('.');
  if (firstDot < 0) return fail(NOT_THREE_SEGMENTS);
  const headerSeg = token.slice(0, firstDot);
  const remembered = rememberedHeaders.get(headerSeg);
  REST.lastIndex = firstDot;
  if (!REST.test(token) || (remembered === undefined && !HEADER_SEGMENT.test(headerSeg))) return fail(NOT_THREE_SEGMENTS);
  // REST matched: there is exactly one more dot
  const lastDot = token.indexOf('.', firstDot + 1);
  const payloadSeg = token.slice(firstDot + 1, lastDot);
  const signatureSeg = token.slice(lastDot + 1);
  if (badLength(headerSeg) || badLength(payloadSeg) || badLength(signatureSeg)) return fail('token has a truncated base64url segment');

  const header = remembered ?? parseObject(headerSeg);
  if (header === null) return fail('token header is not a JSON object');
  const payload = parseObject(payloadSeg);
  if (payload === null) return fail('token payload is not a JSON object');
  if (header !== remembered) {
    const headerProblem = parsedMemberProblem(header.text, header.value);
    if (headerProblem !== null) return fail(problemText('token header', headerProblem));
    rememberHeader(headerSeg, header);
  }
  const claimProblem = parsedMemberProblem(payload.text, payload.value);
  if (claimProblem !== null) return fail(problemText('token claims', claimProblem));
  return {
    ok: true,
    jws: {
      header: header.value,
      payload: payload.value,
      // The token matched HEADER_SEGMENT and REST, so it is ASCII and latin1 is an exact, fast copy.
      signingInput: Buffer.from(token.slice(0, lastDot), 'latin1'),
      signature: Buffer.from(signatureSeg, 'base64url'),
    },
  };
}
