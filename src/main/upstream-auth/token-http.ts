// One bounded HTTP exchange with an authorization server (token endpoint, metadata): undici
// with a deadline over the whole call (headers and body) and a cap on what is read, so an
// endpoint that stalls or answers a gigabyte costs at most `maxBytes` and `timeoutMs`. Failures
// come back as a reason fit for the client (what failed, no address) and a detail for the log.

import type { Dispatcher } from 'undici';
import { request } from 'undici';
import { timerDelay } from '../jwks/timer-delay.js';
import type { CalloutTracer } from '../telemetry/tracing.js';
import { errorText } from '../../protocol/errors.js';

export interface HttpSettings {
  /** undici dispatcher for these calls (the connection policies of the endpoint); default global */
  readonly dispatcher?: Dispatcher;
  /** deadline for one call, headers and body (agentgateway: 10 s) */
  readonly timeoutMs: number;
  /** most bytes read from one answer */
  readonly maxBytes: number;
}

export type HttpAnswer =
  | { readonly ok: true; readonly status: number; readonly body: Buffer }
  | { readonly ok: false; readonly reason: string; readonly detail: string };

export interface HttpCall {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Answers of any status come back whole (up to the cap); only transport failures are errors. */
export async function exchange(call: HttpCall, settings: HttpSettings, callouts: CalloutTracer | null = null): Promise<HttpAnswer> {
  if (callouts === null) return exchangeOnce(call, settings);
  // Traced as an `Oidc` span, whose context the endpoint receives.
  const span = callouts.callout(call.method, call.url);
  const headers = { ...call.headers };
  span.inject(headers);
  const answer = await exchangeOnce({ ...call, headers }, settings);
  if (answer.ok) span.end(answer.status);
  else span.fail(answer.reason);
  return answer;
}

async function exchangeOnce(call: HttpCall, settings: HttpSettings): Promise<HttpAnswer> {
  const where = `${call.method} ${urlForLog(call.url)}`;
  const signal = AbortSignal.timeout(timerDelay(settings.timeoutMs));
  let res: Dispatcher.ResponseData;
  try {
    res = await request(call.url, {
      method: call.method,
      headers: call.headers,
      ...(call.body === undefined ? {} : { body: call.body }),
      ...(settings.dispatcher === undefined ? {} : { dispatcher: settings.dispatcher }),
      signal,
    });
  } catch (err: unknown) {
    return failure(where, err, signal);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      if (!(chunk instanceof Uint8Array)) continue;
      size += chunk.byteLength;
      if (size > settings.maxBytes) {
        res.body.destroy();
        return { ok: false, reason: 'response too large', detail: `${where}: answer larger than ${settings.maxBytes} bytes (status ${res.statusCode})` };
      }
      chunks.push(Buffer.from(chunk));
    }
  } catch (err: unknown) {
    return failure(where, err, signal);
  }
  return { ok: true, status: res.statusCode, body: Buffer.concat(chunks) };
}

function failure(where: string, err: unknown, signal: AbortSignal): HttpAnswer {
  const message = errorText(err);
  const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : '';
  const reason = signal.aborted ? 'timed out' : code === 'ECONNREFUSED' ? 'connection refused' : 'connection failed';
  return { ok: false, reason, detail: `${where}: ${signal.aborted ? 'no answer in time' : message}` };
}

/** The URL without userinfo or query: either may carry a credential. */
function urlForLog(url: string): string {
  if (!URL.canParse(url)) return '<url>';
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}
