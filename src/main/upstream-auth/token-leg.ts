// One token request, built and classified as agentgateway's `transport.rs`: POST a form (grant,
// subject or assertion, actor, requested type, audiences, scope, resources, additional
// parameters, client authentication, in that order) with `Accept: application/json`. A 4xx
// other than 401/403 means the server refused what the caller brought (`rejected`); 401, 403,
// 5xx, transport failures and unusable answers are the gateway's side.

import { STATUS_CODES } from 'node:http';
import type { ClientAuthenticator } from './client-auth.js';
import type { EndpointUrl } from './endpoint.js';
import type { ExchangeInputs } from './exchange-cache.js';
import { GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE } from './oauth-uris.js';
import { type HttpSettings, exchange } from './token-http.js';
import { readTokenResponse } from './token-response.js';
import type { CalloutTracer } from '../telemetry/tracing.js';
import { errorText } from '../../protocol/errors.js';

export interface LegSpec {
  readonly endpoint: (callouts: CalloutTracer | null) => Promise<EndpointUrl>;
  readonly grantType: 'tokenExchange' | 'jwtBearer';
  readonly audiences: readonly string[];
  readonly scopes: readonly string[];
  readonly resources: readonly string[];
  /** sent as requested_token_type (token exchange only) and expected back as issued_token_type */
  readonly requestedTokenType: string | null;
  readonly authenticate: ClientAuthenticator;
  readonly http: HttpSettings;
}

export type LegResult =
  | { readonly ok: true; readonly accessToken: string; readonly expiresIn: number | null }
  /** `status`: the endpoint's, when it answered with a non-2xx */
  | { readonly ok: false; readonly rejected: boolean; readonly status: number | null; readonly reason: string; readonly detail: string };

export async function requestToken(spec: LegSpec, input: ExchangeInputs, callouts: CalloutTracer | null = null): Promise<LegResult> {
  const endpoint = await spec.endpoint(callouts);
  if (!endpoint.ok) return { ok: false, rejected: false, status: null, reason: endpoint.reason, detail: endpoint.detail };
  const form = new URLSearchParams();
  if (spec.grantType === 'tokenExchange') {
    form.append('grant_type', GRANT_TOKEN_EXCHANGE);
    form.append('subject_token', input.subjectToken);
    form.append('subject_token_type', input.subjectTokenType);
    if (input.actor !== null) {
      form.append('actor_token', input.actor.token);
      form.append('actor_token_type', input.actor.tokenType);
    }
    if (spec.requestedTokenType !== null) form.append('requested_token_type', spec.requestedTokenType);
  } else {
    form.append('grant_type', GRANT_JWT_BEARER);
    form.append('assertion', input.subjectToken);
  }
  for (const audience of spec.audiences) form.append('audience', audience);
  if (spec.scopes.length > 0) form.append('scope', spec.scopes.join(' '));
  for (const resource of spec.resources) form.append('resource', resource);
  for (const [name, value] of input.params) form.append(name, value);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  try {
    await spec.authenticate(form, headers);
  } catch (err: unknown) {
    return { ok: false, rejected: false, status: null, reason: 'client assertion could not be signed', detail: errorText(err) };
  }

  const answer = await exchange({ method: 'POST', url: endpoint.url, headers, body: form.toString() }, spec.http, callouts);
  if (!answer.ok) return { ok: false, rejected: false, status: null, reason: `token exchange request failed: ${answer.reason}`, detail: answer.detail };
  if (answer.status < 200 || answer.status > 299) {
    const status = `${answer.status} ${STATUS_CODES[answer.status] ?? ''}`.trim();
    const secrets = SECRET_PARAMS.flatMap((name) => form.getAll(name));
    return {
      ok: false,
      rejected: answer.status >= 400 && answer.status < 500 && answer.status !== 401 && answer.status !== 403,
      status: answer.status,
      reason: `token exchange returned status ${status}`,
      detail: `${endpoint.url} returned ${status}: ${errorBody(answer.body, secrets)}`,
    };
  }
  const token = readTokenResponse(answer.body, spec.grantType === 'tokenExchange' ? spec.requestedTokenType : null);
  return token.ok ? token : { ok: false, rejected: false, status: null, reason: token.reason, detail: `${endpoint.url}: ${token.detail}` };
}

/** The form parameters that are credentials: an error answer echoing one must not log it. */
const SECRET_PARAMS = ['subject_token', 'actor_token', 'assertion', 'client_secret', 'client_assertion'];

/** An error answer for the log: 256 characters at most, control characters as spaces, and any
 * credential this request sent (some servers echo the request) replaced. */
function errorBody(body: Buffer, secrets: readonly string[]): string {
  let text = body.toString('utf8');
  for (const s of secrets) if (s !== '') text = text.split(s).join('<redacted>');
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return clean.length > 256 ? `${clean.slice(0, 256)}...` : clean;
}
