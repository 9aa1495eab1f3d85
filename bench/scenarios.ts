// What the bench sends: the scenarios (a tools/call or a tools/list of 20 or 200 tools, JSON or
// SSE, with the one reused token, a fresh token per request, or none), their request headers and
// bodies, and the one request sent by fetch before any load to check the answer.

import { type Dispatcher, fetch as undiciFetch } from 'undici';
import { BODIES, PROTOCOL_VERSION } from './fixtures.js';

/** keep-alive connections of every load (wrk and the paced generator) */
export const CONNECTIONS = 64;
/** the target name of the stub reached directly: the host-speed reference */
export const DIRECT = 'direct (stub)';

export type AuthKind = 'token' | 'fresh' | 'none';

export interface Scenario {
  readonly id: string;
  readonly method: 'call' | 'list';
  readonly tools: 20 | 200;
  readonly sse: boolean;
  readonly auth: AuthKind;
  readonly expectStatus: 200 | 401;
  /** a call's body with ~4 KB of arguments (BODIES.call4k) */
  readonly bigArgs: boolean;
}

function scenario(id: string, method: 'call' | 'list', extra: Partial<Omit<Scenario, 'id' | 'method'>> = {}): Scenario {
  return { id, method, tools: 20, sse: false, auth: 'token', expectStatus: 200, bigArgs: false, ...extra };
}

export const S = {
  call: scenario('tools/call', 'call'),
  call4k: scenario('tools/call, 4 KB of arguments', 'call', { bigArgs: true }),
  callSse: scenario('tools/call SSE', 'call', { sse: true }),
  list20: scenario('tools/list 20', 'list'),
  list20Sse: scenario('tools/list 20 SSE', 'list', { sse: true }),
  list200: scenario('tools/list 200', 'list', { tools: 200 }),
  fresh: scenario('tools/call fresh token', 'call', { auth: 'fresh' }),
  // The gateway's target exchanges the caller's token (RFC 8693); one token, so every call after
  // the first is a cache hit: what a cached exchanged token adds to a call.
  callExchange: scenario('tools/call, token exchange (cached)', 'call'),
  // Every request traced (randomSampling: true): a server and a client span exported per call.
  callTraced: scenario('tools/call, tracing 100%', 'call'),
  // Over an HTTPS front, keep-alive: the handshake paid once per connection, the records per call.
  callHttps: scenario('HTTPS front, tools/call', 'call'),
  freshList: scenario('tools/list 20 fresh token', 'list', { auth: 'fresh' }),
  noToken: scenario('401 no token', 'call', { auth: 'none', expectStatus: 401 }),
} as const;

/** The direct scenario whose req/s a scenario is compared with (same request, same answer). */
export function directOf(s: Scenario): string {
  if (s.method === 'call') return s.sse ? S.callSse.id : S.call.id;
  if (s.tools === 200) return S.list200.id;
  return s.sse ? S.list20Sse.id : S.list20.id;
}

export function headersFor(s: Scenario, token: string | null): Record<string, string> {
  const h: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': PROTOCOL_VERSION,
  };
  if (token !== null) h['Authorization'] = `Bearer ${token}`;
  if (s.sse) h['x-bench-sse'] = '1';
  if (s.tools === 200) h['x-bench-tools'] = '200';
  return h;
}

export function bodyOf(s: Scenario): string {
  if (s.method === 'list') return BODIES.list;
  return s.bigArgs ? BODIES.call4k : BODIES.call;
}

/** The bench's tokens: the one reused by every 'token' request, the first of the fresh ones. */
export interface Tokens {
  readonly token: string;
  readonly firstFreshToken: string;
}

/** One request by fetch before the load: status and content as expected? `rules`: the number
 * of rules the proxy applies (null: none, a relay or the stub), which says how many tools a list
 * keeps. `dispatcher`: how to connect (one trusting an https target's certificate). */
export async function check(url: string, s: Scenario, tokens: Tokens, rules: number | null, dispatcher?: Dispatcher): Promise<string> {
  const token = s.auth === 'none' ? null : s.auth === 'fresh' ? tokens.firstFreshToken : tokens.token;
  let res: Awaited<ReturnType<typeof undiciFetch>>;
  try {
    res = await undiciFetch(url, { method: 'POST', headers: headersFor(s, token), body: bodyOf(s), ...(dispatcher === undefined ? {} : { dispatcher }) });
  } catch (err) {
    return `FAIL: ${err instanceof Error ? err.message : String(err)}`;
  }
  const text = await res.text();
  if (res.status !== s.expectStatus) return `FAIL: status ${res.status}: ${text.slice(0, 200)}`;
  if (s.expectStatus !== 200) return 'ok';
  const type = res.headers.get('content-type') ?? '';
  if (s.sse !== type.startsWith('text/event-stream')) return `FAIL: content-type ${type}`;
  if (s.method === 'call') return text.includes('"hi"') ? 'ok' : `FAIL: body ${text.slice(0, 200)}`;
  const names = (text.match(/"name":"/g) ?? []).length;
  // rules (any number) keep echo + read_* = half; no rules (jwt only or direct) keep all
  const expected = rules === null || rules === 0 ? s.tools : s.tools / 2;
  return names === expected ? `ok (${names} of ${s.tools} tools)` : `FAIL: ${names} tools, expected ${expected}`;
}
