// A bounded GET for identity-provider documents (JWKS, OpenID configuration): a timeout, a size
// cap, JSON only, and a plain error sentence (never a body, nor the URL's credentials) on failure.

import { type Dispatcher, request } from 'undici';
import { redactUrl } from '../log/redact.js';
import { timerDelay } from './timer-delay.js';
import { errorText } from '../../protocol/errors.js';
import { GatewayError } from '../../protocol/errors.js';

export interface FetchedDocument {
  readonly text: string;
  /** ms the document may be cached per Cache-Control max-age / Expires (may be huge, even
   * Infinity: the caller bounds it), or null when it says nothing */
  readonly maxAgeMs: number | null;
}

const maxBytes = 1024 * 1024;

export class FetchError extends GatewayError {
  constructor(message: string) {
    super('GW_IDP_FETCH_FAILED', message);
  }
}

/** How long a document may be cached per Cache-Control max-age (no-store/no-cache: 0) or Expires. */
export function maxAgeOf(headers: Record<string, string | string[] | undefined>, now: number): number | null {
  const cc = headers['cache-control'];
  const ccText = Array.isArray(cc) ? cc.join(',') : cc;
  if (ccText !== undefined) {
    if (/\bno-store\b|\bno-cache\b/i.test(ccText)) return 0;
    const m = /\bmax-age=(\d+)/i.exec(ccText);
    if (m !== null) return Number(m[1]) * 1000;
  }
  const expires = headers['expires'];
  const expiresText = Array.isArray(expires) ? expires[0] : expires;
  if (expiresText !== undefined) {
    const at = Date.parse(expiresText);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  return null;
}

/** `dispatcher`: how to connect (a `tls` policy's); the global one when absent. */
export async function getDocument(url: string, timeoutMs: number, dispatcher?: Dispatcher): Promise<FetchedDocument> {
  const shown = redactUrl(url);
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: 'GET',
      ...(dispatcher === undefined ? {} : { dispatcher }),
      headers: { accept: 'application/json, application/jwk-set+json' },
      signal: AbortSignal.timeout(timerDelay(timeoutMs)),
    });
  } catch (err) {
    throw new FetchError(`GET ${shown} failed: ${errorText(err)}`);
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new FetchError(`GET ${shown} answered ${res.statusCode}`);
  }
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) {
    if (!(chunk instanceof Uint8Array)) continue;
    size += chunk.byteLength;
    if (size > maxBytes) {
      res.body.destroy();
      throw new FetchError(`GET ${shown}: document larger than ${maxBytes} bytes`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return { text: Buffer.concat(chunks).toString('utf8'), maxAgeMs: maxAgeOf(res.headers, Date.now()) };
}
