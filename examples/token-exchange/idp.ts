// Example OAuth authorization server for the lab's token-exchange step: oidc-provider with the
// RFC 8693 token-exchange grant registered (oidc-provider has none built in). It takes the lab's
// user tokens as subject tokens (their issuer, checked against the lab's JWKS keyset file) from
// one confidential client (client_secret_basic), and issues a JWT access token for the requested
// audience: `sub` the subject's, `client_id` and `act` (RFC 8693 §4.1: the party acting for the
// subject) the client, signed with its own ES256 key, whose public half is served at /jwks.
//
// Run: node dist/examples/token-exchange/idp.js --trust-jwks jwks-keyset
//        [--trust-issuer acme@example.com] [--port 7080] [--host localhost]
//        [--client-id portcullis] [--client-secret <secret>] [--expires-in 300]
// Without --client-secret a random secret is made and printed.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type JWK, type JWTPayload, SignJWT, calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import Provider, { type GrantContext, errors } from 'oidc-provider';
import { closeHttpServer, closeOnSignal, errorMessage, listenAll, originOf, parsePort } from '../shared/loopback.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TT_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const TT_JWT = 'urn:ietf:params:oauth:token-type:jwt';

interface IdpOptions {
  readonly host: string;
  readonly port: number;
  readonly trustIssuer: string;
  /** the trusted issuer's public keys (a JWKS document) */
  readonly trustJwks: { readonly keys: JWK[] };
  readonly clientId: string;
  readonly clientSecret: string;
  readonly expiresIn: number;
}

async function startIdp(opts: IdpOptions): Promise<{ readonly issuer: string; close(): Promise<void> }> {
  const issuer = originOf(opts.host, opts.port);
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(privateJwk);
  const trusted = createLocalJWKSet(opts.trustJwks);

  const subjectOf = async (token: string | undefined): Promise<string> => {
    if (token === undefined || token === '') throw new errors.InvalidRequest('subject_token missing');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, trusted, { issuer: opts.trustIssuer }));
    } catch (err) {
      throw new errors.InvalidGrant(`subject_token is not a valid token of ${opts.trustIssuer} (${errorMessage(err)})`);
    }
    if (typeof payload.sub !== 'string') throw new errors.InvalidGrant('subject_token has no sub');
    return payload.sub;
  };

  const tokenExchange = async (ctx: GrantContext): Promise<void> => {
    const p = ctx.oidc.params;
    const subjectType = one(p['subject_token_type']);
    if (subjectType !== TT_ACCESS && subjectType !== TT_JWT) throw new errors.InvalidRequest('subject_token_type must be access_token or jwt');
    if (p['actor_token'] !== undefined) throw new errors.InvalidRequest('actor tokens are not taken by this server');
    const requested = one(p['requested_token_type']) ?? TT_ACCESS;
    if (requested !== TT_ACCESS && requested !== TT_JWT) throw new errors.InvalidRequest('requested_token_type must be access_token or jwt');
    const sub = await subjectOf(one(p['subject_token']));
    const audience = [...many(p['audience']), ...many(p['resource'])];
    if (audience.length === 0) throw new errors.InvalidTarget('no audience (or resource) to issue a token for');
    const scope = one(p['scope']);
    const clientId = ctx.oidc.client.clientId;
    const accessToken = await new SignJWT({
      sub,
      aud: audience.length === 1 && audience[0] !== undefined ? audience[0] : audience,
      client_id: clientId,
      act: { sub: clientId },
      ...(scope === undefined ? {} : { scope }),
    })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(`${opts.expiresIn}s`)
      .sign(privateKey);
    console.log(`exchanged: a token of ${sub} (${opts.trustIssuer}) for one for ${audience.join(', ')}, to client ${clientId}, valid ${opts.expiresIn} s`);
    ctx.body = { access_token: accessToken, issued_token_type: requested, token_type: 'Bearer', expires_in: opts.expiresIn, ...(scope === undefined ? {} : { scope }) };
  };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: opts.clientId,
        client_secret: opts.clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [TOKEN_EXCHANGE],
        response_types: [],
        redirect_uris: [],
        // the provider's default (RS256) needs a key it does not have
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [{ ...privateJwk, kid, alg: 'ES256', use: 'sig' }] },
    features: { devInteractions: { enabled: false } },
  });
  provider.registerGrantType(
    TOKEN_EXCHANGE,
    tokenExchange,
    ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience', 'resource', 'scope'],
    ['audience', 'resource'],
  );
  provider.on('grant.error', (_ctx, err) => console.log(`refused: ${err.error}${err.error_detail === undefined ? '' : `: ${err.error_detail}`}`));
  provider.on('server_error', (_ctx, err) => console.error(`server error: ${errorMessage(err)}`));

  const servers = await listenAll(provider.callback(), opts.host, opts.port);
  return { issuer, close: async () => void (await Promise.all(servers.map(closeHttpServer))) };
}

function one(v: string | readonly string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : v?.[0];
}

function many(v: string | readonly string[] | undefined): string[] {
  return v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
}

function readJwks(file: string): { keys: JWK[] } {
  const doc: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof doc !== 'object' || doc === null || !('keys' in doc) || !Array.isArray(doc.keys)) throw new Error(`${file} is not a JWKS ({"keys": [...]})`);
  return { keys: doc.keys.filter((k: unknown): k is JWK => typeof k === 'object' && k !== null) };
}

function parseCliOptions(argv: readonly string[]): IdpOptions & { readonly jwksFile: string; readonly secretGenerated: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'trust-jwks': { type: 'string' },
      'trust-issuer': { type: 'string', default: 'acme@example.com' },
      port: { type: 'string', default: '7080' },
      host: { type: 'string', default: 'localhost' },
      'client-id': { type: 'string', default: 'portcullis' },
      'client-secret': { type: 'string' },
      'expires-in': { type: 'string', default: '300' },
    },
    strict: true,
    allowPositionals: false,
  });
  const jwksFile = values['trust-jwks'];
  if (jwksFile === undefined) throw new Error('--trust-jwks <file> is required: the JWKS of the tokens to take (the lab\'s jwks-keyset)');
  const expiresIn = Number(values['expires-in']);
  if (!Number.isInteger(expiresIn) || expiresIn < 1) throw new Error(`invalid --expires-in: ${values['expires-in']} (seconds)`);
  const secret = values['client-secret'];
  if (secret === '') throw new Error('--client-secret must not be empty');
  return {
    host: values.host,
    port: parsePort(values.port),
    trustIssuer: values['trust-issuer'],
    trustJwks: readJwks(jwksFile),
    jwksFile,
    clientId: values['client-id'],
    clientSecret: secret ?? randomBytes(18).toString('base64url'),
    secretGenerated: secret === undefined,
    expiresIn,
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const opts = parseCliOptions(argv);
  const idp = await startIdp(opts);
  console.log(`token exchange IdP listening on ${idp.issuer}`);
  console.log(`  token endpoint ${idp.issuer}/token (RFC 8693 token exchange), keys ${idp.issuer}/jwks`);
  console.log(`  takes tokens of ${opts.trustIssuer} signed by a key of ${opts.jwksFile}`);
  console.log(`  client ${opts.clientId} (client_secret_basic)${opts.secretGenerated ? `, secret ${opts.clientSecret}` : ''}`);
  closeOnSignal('idp', () => idp.close());
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`idp: ${errorMessage(err)}`);
  process.exitCode = 1;
});
