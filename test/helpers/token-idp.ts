// A real authorization server for token exchange tests: oidc-provider 9 on 127.0.0.1 with the
// RFC 8693 token-exchange and RFC 7523 jwt-bearer grants registered (oidc-provider has neither
// built in), confidential clients for client_secret_basic, client_secret_post and
// private_key_jwt, and its own ES256 key (served at /jwks) for what it issues.
//
// Two modes:
// * `idp` (the user's identity provider): a token exchange verifies the subject token (and any
//   actor token) against the trusted issuers' keys and issues either an access token JWT (`aud`
//   the requested audiences and resources, `sub` the subject's, `client_id`, `act` for an actor,
//   `scope`) or, for requested_token_type id-jag, an ID-JAG (`typ: oauth-id-jag+jwt`, `aud` the
//   one audience, `resource`, `client_id` the client's id at that audience, `scope`, `jti`). jwt-bearer takes a trusted JWT as the
//   assertion (the on-behalf-of shape) and issues an access token likewise.
// * `resource-as` (a resource authorization server): jwt-bearer only, with an ID-JAG as the
//   assertion: signed by a trusted issuer, `typ` oauth-id-jag+jwt, `aud` this server's issuer,
//   `client_id` the authenticated client; the access token's `aud` is the ID-JAG's `resource`.
//
// It records every token-endpoint call, and can be made to fail: stopped (port closed, restart()
// reopens it), held (a gate the test releases), or answering what the test says (a status and
// body, garbage, or an endless body).
import { createPublicKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type JWK, type JWTPayload, SignJWT, createLocalJWKSet, importJWK, jwtVerify } from 'jose';
import Provider, { type GrantContext, errors } from 'oidc-provider';
import { makeIssuer } from './keys.js';
import { listenLocal } from './ports.js';
import { type HeldRequest, RequestHolds, restartable } from './server-control.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const TT_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
export const TT_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TT_ID = 'urn:ietf:params:oauth:token-type:id_token';
export const TT_ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';
export const ID_JAG_TYP = 'oauth-id-jag+jwt';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/client-assertion/', import.meta.url));
/** The private_key_jwt client's key (PKCS#8 RSA) and a chain for it (leaf, then its CA). */
export const CLIENT_KEY_PEM = readFileSync(`${FIXTURES}rsa-key.pem`, 'utf8');
export const CLIENT_CHAIN_PEM = readFileSync(`${FIXTURES}rsa-chain.pem`, 'utf8');
/** The `kid` the private_key_jwt client's key is registered under (oidc-provider matches it). */
export const CLIENT_KEY_ID = 'gw-1';

export interface TrustedIssuer {
  readonly issuer: string;
  readonly jwks: { readonly keys: readonly JWK[] };
}

export interface TokenIdpOptions {
  /** whose JWTs are taken as subject tokens, actor tokens and assertions */
  readonly trust: readonly TrustedIssuer[];
  readonly mode?: 'idp' | 'resource-as';
  /** `expires_in` of what it issues (default 300); the tokens' `exp` follows it */
  readonly expiresIn?: number;
  /** client ids get this suffix, so two servers' registrations differ (default none) */
  readonly clientSuffix?: string;
}

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** One POST to /token as it arrived. */
export interface TokenCall {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** the form, in order */
  readonly form: ReadonlyArray<readonly [string, string]>;
  /** the first value of a form parameter */
  param(name: string): string | undefined;
  /** every value of a form parameter */
  params(name: string): string[];
}

/** What /token answers instead of the grant: a status with a JSON (or raw text) body, or an
 * endless body of `bytes` (a server that never stops). */
export type Answer =
  | { readonly status: number; readonly json: unknown }
  | { readonly status: number; readonly text: string; readonly contentType?: string }
  | { readonly endless: true };

export interface TokenIdp {
  /** http://127.0.0.1:<port>: the issuer, also in its tokens and metadata */
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly port: number;
  /** the public keys of what it signs */
  readonly jwks: { readonly keys: readonly JWK[] };
  readonly clients: {
    /** client_secret_basic; id and secret hold characters Basic must form-encode */
    readonly basic: ClientCredentials;
    readonly post: ClientCredentials;
    /** private_key_jwt with CLIENT_KEY_PEM */
    readonly privateKeyJwt: { readonly clientId: string };
  };
  /** POSTs to /token so far, answered or not */
  readonly calls: readonly TokenCall[];
  /** ID-JAGs for `audience` name `clientId` (the client's registration there) instead of the
   * requesting client's id here. */
  setIdJagClient(audience: string, clientId: string): void;
  /** Answer /token with this from now on (null: the grants again). */
  answerWith(answer: Answer | null): void;
  /** Holds the next /token request until released. */
  holdNext(): HeldRequest;
  /** Bytes written by endless answers so far. */
  readonly endlessBytes: number;
  /** Closes the port (connections dropped); restart() listens again on it. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

const ALL_GRANTS = [TOKEN_EXCHANGE, JWT_BEARER];

export async function startTokenIdp(opts: TokenIdpOptions): Promise<TokenIdp> {
  const mode = opts.mode ?? 'idp';
  const expiresIn = opts.expiresIn ?? 300;
  const suffix = opts.clientSuffix ?? '';
  const signer = await makeIssuer({ alg: 'ES256', kid: `${mode}-key` });
  const signingKey = await importJWK({ ...signer.privateJwk, alg: 'ES256' }, 'ES256');
  const trusted = opts.trust.map((t) => ({ issuer: t.issuer, keys: createLocalJWKSet({ keys: [...t.jwks.keys] }) }));
  const clients = {
    basic: { clientId: `gw basic:${suffix}`, clientSecret: 'basic secret:+/%' },
    post: { clientId: `gw-post${suffix}`, clientSecret: 'post-secret-0123456789' },
    privateKeyJwt: { clientId: `gw-jwt${suffix}` },
  };

  const calls: TokenCall[] = [];
  const idJagClients = new Map<string, string>();
  let answer: Answer | null = null;
  const holds = new RequestHolds();
  let endlessBytes = 0;
  let handler: ((req: IncomingMessage, res: ServerResponse) => unknown) | null = null;
  let base = '';

  const server = createServer((req, res) => {
    void route(req, res);
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://idp.invalid').pathname;
    if (path !== '/token' || req.method !== 'POST') {
      handler?.(req, res);
      return;
    }
    const text = await readBody(req);
    const form = [...new URLSearchParams(text)];
    calls.push({
      headers: { ...req.headers },
      form,
      param: (name) => form.find(([k]) => k === name)?.[1],
      params: (name) => form.filter(([k]) => k === name).map(([, v]) => v),
    });
    await holds.wait();
    if (answer !== null) {
      respond(res, answer);
      return;
    }
    // The body is read already; oidc-provider falls back to `req.body` (it warns once about it).
    Object.assign(req, { body: text });
    handler?.(req, res);
  }

  const port = await listenLocal(server, 0);
  base = `http://127.0.0.1:${port}`;

  const accessToken = async (claims: JWTPayload, typ = 'at+jwt'): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ })
      .setIssuer(base)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(`${expiresIn}s`)
      .sign(signingKey);

  /** A JWT from a trusted issuer, or an invalid_grant naming what is wrong with it. */
  const verified = async (token: string | undefined, what: string): Promise<{ payload: JWTPayload; typ: string | undefined }> => {
    if (token === undefined || token === '') throw new errors.InvalidRequest(`${what} missing`);
    for (const t of trusted) {
      try {
        const { payload, protectedHeader } = await jwtVerify(token, t.keys, { issuer: t.issuer });
        return { payload, typ: protectedHeader.typ };
      } catch {
        // the next trusted issuer may have signed it
      }
    }
    throw new errors.InvalidGrant(`${what} is not a valid token of a trusted issuer`);
  };

  const tokenExchange = async (ctx: GrantContext): Promise<void> => {
    const p = ctx.oidc.params;
    const subjectType = one(p['subject_token_type']);
    if (subjectType === undefined || ![TT_ACCESS, TT_JWT, TT_ID].includes(subjectType)) throw new errors.InvalidRequest('unsupported subject_token_type');
    const subject = await verified(one(p['subject_token']), 'subject_token');
    let act: Record<string, unknown> | undefined;
    if (p['actor_token'] !== undefined) {
      const actorType = one(p['actor_token_type']);
      if (actorType !== TT_ACCESS && actorType !== TT_JWT) throw new errors.InvalidRequest('unsupported actor_token_type');
      act = { sub: (await verified(one(p['actor_token']), 'actor_token')).payload.sub };
    }
    const audiences = many(p['audience']);
    const resources = many(p['resource']);
    const scope = one(p['scope']);
    const requested = one(p['requested_token_type']);
    const clientId = ctx.oidc.client.clientId;
    if (requested === TT_ID_JAG) {
      const [aud] = audiences;
      if (aud === undefined || audiences.length !== 1) throw new errors.InvalidTarget('an ID-JAG needs exactly one audience');
      const idJag = await accessToken(
        { sub: subjectOf(subject.payload), aud, client_id: idJagClients.get(aud) ?? clientId, ...(resources.length > 0 ? { resource: resources.length === 1 ? resources[0] : resources } : {}), ...(scope === undefined ? {} : { scope }) },
        ID_JAG_TYP,
      );
      ctx.body = { access_token: idJag, issued_token_type: TT_ID_JAG, token_type: 'N_A', expires_in: expiresIn, ...(scope === undefined ? {} : { scope }) };
      return;
    }
    if (requested !== undefined && requested !== TT_ACCESS && requested !== TT_JWT) throw new errors.InvalidRequest('unsupported requested_token_type');
    ctx.body = await bearer(subject.payload, [...audiences, ...resources], clientId, scope, act, requested ?? TT_ACCESS);
  };

  const jwtBearer = async (ctx: GrantContext): Promise<void> => {
    const p = ctx.oidc.params;
    const clientId = ctx.oidc.client.clientId;
    const assertion = await verified(one(p['assertion']), 'assertion');
    const scope = one(p['scope']);
    if (mode === 'idp') {
      ctx.body = await bearer(assertion.payload, [...many(p['audience']), ...many(p['resource'])], clientId, scope, undefined, undefined);
      return;
    }
    const { payload, typ } = assertion;
    if (typ !== ID_JAG_TYP) throw new errors.InvalidGrant(`assertion typ must be ${ID_JAG_TYP}`);
    if (payload.aud !== base) throw new errors.InvalidGrant('the ID-JAG is not addressed to this authorization server');
    if (payload['client_id'] !== clientId) throw new errors.InvalidGrant('the ID-JAG was issued to another client');
    const resource = payload['resource'];
    const audience = typeof resource === 'string' ? [resource] : Array.isArray(resource) ? resource.filter((r): r is string => typeof r === 'string') : [];
    const granted = typeof payload['scope'] === 'string' ? payload['scope'].split(' ') : null;
    if (scope !== undefined && granted !== null && !scope.split(' ').every((s) => granted.includes(s))) {
      throw new errors.InvalidScope('scope exceeds what the ID-JAG grants', scope);
    }
    ctx.body = await bearer(payload, audience, clientId, scope, undefined, undefined);
  };

  const bearer = async (subject: JWTPayload, audience: string[], clientId: string, scope: string | undefined, act: Record<string, unknown> | undefined, issuedType: string | undefined) => {
    if (audience.length === 0) throw new errors.InvalidTarget('no audience or resource to issue a token for');
    const token = await accessToken({
      sub: subjectOf(subject),
      aud: audience.length === 1 && audience[0] !== undefined ? audience[0] : audience,
      client_id: clientId,
      ...(scope === undefined ? {} : { scope }),
      ...(act === undefined ? {} : { act }),
    });
    return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, ...(issuedType === undefined ? {} : { issued_token_type: issuedType }) };
  };

  const build = (): Provider => {
    const grants = mode === 'idp' ? ALL_GRANTS : [JWT_BEARER];
    const machine = { grant_types: grants, response_types: [], redirect_uris: [], id_token_signed_response_alg: 'ES256' };
    const p = new Provider(base, {
      clients: [
        { client_id: clients.basic.clientId, client_secret: clients.basic.clientSecret, token_endpoint_auth_method: 'client_secret_basic', ...machine },
        { client_id: clients.post.clientId, client_secret: clients.post.clientSecret, token_endpoint_auth_method: 'client_secret_post', ...machine },
        {
          client_id: clients.privateKeyJwt.clientId,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [{ ...createPublicKey(CLIENT_KEY_PEM).export({ format: 'jwk' }), kid: CLIENT_KEY_ID, use: 'sig' }] },
          ...machine,
        },
      ],
      jwks: { keys: [{ ...signer.privateJwk, alg: 'ES256', use: 'sig' }] },
      features: { devInteractions: { enabled: false } },
    });
    if (mode === 'idp') {
      p.registerGrantType(TOKEN_EXCHANGE, tokenExchange, ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience', 'resource', 'scope'], ['audience', 'resource']);
    }
    p.registerGrantType(JWT_BEARER, jwtBearer, ['assertion', 'scope', 'audience', 'resource'], ['audience', 'resource']);
    return p;
  };
  handler = build().callback();

  const { stop, restart } = restartable(server, port);

  return {
    issuer: base,
    tokenEndpoint: `${base}/token`,
    port,
    jwks: signer.jwks,
    clients,
    calls,
    setIdJagClient: (audience, clientId) => {
      idJagClients.set(audience, clientId);
    },
    answerWith: (a) => {
      answer = a;
    },
    holdNext: () => holds.hold(),
    get endlessBytes() {
      return endlessBytes;
    },
    stop,
    restart,
    close: stop,
  };

  function respond(res: ServerResponse, a: Answer): void {
    if ('endless' in a) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      // Pulled only as fast as the client reads: a client that stops reading stops it.
      const body = Readable.from(
        (function* () {
          for (;;) {
            endlessBytes += chunk.length;
            yield chunk;
          }
        })(),
      );
      body.pipe(res);
      res.on('close', () => body.destroy());
    } else if ('json' in a) {
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.json));
    } else {
      res.writeHead(a.status, { 'content-type': a.contentType ?? 'text/plain' }).end(a.text);
    }
  }
}

function subjectOf(payload: JWTPayload): string {
  if (typeof payload.sub !== 'string') throw new errors.InvalidGrant('the token has no sub');
  return payload.sub;
}

function one(v: string | readonly string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : v?.[0];
}

function many(v: string | readonly string[] | undefined): string[] {
  return v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

