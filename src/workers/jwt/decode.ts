// Strict compact-JWS parsing: three base64url segments, header and payload JSON objects.
// Nothing here is trusted yet; the signature is checked later over the original bytes.
import { Buffer, isUtf8 } from 'node:buffer';
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
// tokens get the precise `alg_not_allowed` rather than `malformed`).
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function fail(detail: string): DecodeOutcome {
  return { ok: false, detail };
}

/** A base64url segment whose length leaves 1 char over cannot come from whole bytes. */
function badLength(segment: string): boolean {
  return segment.length % 4 === 1;
}

function parseObject(segment: string): { value: JsonObject; text: string } | null {
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
  if (!COMPACT_JWS.test(token)) return fail('token is not three base64url segments');
  const firstDot = token.indexOf('.');
  const lastDot = token.lastIndexOf('.');
  const headerSeg = token.slice(0, firstDot);
  const payloadSeg = token.slice(firstDot + 1, lastDot);
  const signatureSeg = token.slice(lastDot + 1);
  if (badLength(headerSeg) || badLength(payloadSeg) || badLength(signatureSeg)) return fail('token has a truncated base64url segment');

  const header = parseObject(headerSeg);
  if (header === null) return fail('token header is not a JSON object');
  const payload = parseObject(payloadSeg);
  if (payload === null) return fail('token payload is not a JSON object');
  const headerProblem = parsedMemberProblem(header.text, header.value);
  if (headerProblem !== null) return fail(problemText('token header', headerProblem));
  const claimProblem = parsedMemberProblem(payload.text, payload.value);
  if (claimProblem !== null) return fail(problemText('token claims', claimProblem));
  return {
    ok: true,
    jws: {
      header: header.value,
      payload: payload.value,
      // The token matched COMPACT_JWS, so it is ASCII and latin1 is an exact, fast copy.
      signingInput: Buffer.from(token.slice(0, lastDot), 'latin1'),
      signature: Buffer.from(signatureSeg, 'base64url'),
    },
  };
}
