// Client authentication at a token endpoint (RFC 6749 §2.3, RFC 7523 §2.2), as agentgateway's
// `build_token_request_form`: Basic with the form-encoded id and secret; the id (and secret) in
// the body; or a private_key_jwt assertion signed per request (iss = sub = client id, aud =
// assertionAudience, a UUIDv4 jti, iat = nbf = now - 10 s, exp = now + 300 s; kid, x5c or
// x5t#S256 in the header when configured).

import { randomUUID, createPrivateKey } from 'node:crypto';
import { SignJWT, type JWTHeaderParameters } from 'jose';
import type { ClientAuthConfig } from '../config/types.js';
import { CLIENT_ASSERTION_JWT_BEARER } from './oauth-uris.js';

/** Adds the client's credentials to a token request's form and headers. */
export type ClientAuthenticator = (form: URLSearchParams, headers: Record<string, string>) => Promise<void>;

const ASSERTION_LIFETIME_S = 300;
const ASSERTION_BACKDATE_S = 10;

/** `now`: wall clock in ms. The signing key is parsed once here (the loader checked it fits `alg`). */
export function clientAuthenticator(config: ClientAuthConfig | null, now: () => number): ClientAuthenticator {
  if (config === null) return async () => undefined;
  switch (config.method) {
    case 'clientSecretBasic': {
      const basic = `Basic ${Buffer.from(`${formEncode(config.clientId)}:${formEncode(config.clientSecret.secret)}`).toString('base64')}`;
      return async (_form, headers) => {
        headers['authorization'] = basic;
      };
    }
    case 'clientSecretPost':
      return async (form) => {
        form.append('client_id', config.clientId);
        if (config.clientSecret !== null) form.append('client_secret', config.clientSecret.secret);
      };
    case 'privateKeyJwt': {
      const key = createPrivateKey(config.signingKey.secret);
      const header: JWTHeaderParameters = {
        alg: config.alg,
        typ: 'JWT',
        ...(config.kid === null ? {} : { kid: config.kid }),
        ...(config.x5c === null ? {} : { x5c: [...config.x5c] }),
        ...(config.x5tS256 === null ? {} : { 'x5t#S256': config.x5tS256 }),
      };
      return async (form) => {
        const seconds = Math.floor(now() / 1000);
        const assertion = await new SignJWT({})
          .setProtectedHeader(header)
          .setIssuer(config.clientId)
          .setSubject(config.clientId)
          .setAudience(config.assertionAudience)
          .setJti(randomUUID())
          .setIssuedAt(seconds - ASSERTION_BACKDATE_S)
          .setNotBefore(seconds - ASSERTION_BACKDATE_S)
          .setExpirationTime(seconds + ASSERTION_LIFETIME_S)
          .sign(key);
        // client_id is optional with an assertion (RFC 7521 §4.2) but many servers want it.
        form.append('client_id', config.clientId);
        form.append('client_assertion_type', CLIENT_ASSERTION_JWT_BEARER);
        form.append('client_assertion', assertion);
      };
    }
  }
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 asks for the Basic credentials. */
function formEncode(text: string): string {
  return new URLSearchParams([['', text]]).toString().slice(1);
}
