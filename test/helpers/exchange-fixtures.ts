// Shared pieces of the token exchange tests: a user's identity provider (a real key pair, tokens
// signed with it), credential sources built from backendAuth YAML through the real config
// loader, the caller a gateway would hand them, and a whoami call to a token-checking upstream
// with the credential applied.
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/main/config/load.js';
import type { Claims } from '../../src/protocol/worker-contract.js';
import { applyCredential } from '../../src/main/upstream-auth/apply-credential.js';
import type { CallerIdentity, Credential, CredentialRefusal } from '../../src/main/upstream-auth/credential.js';
import { type SourceDeps, credentialSource } from '../../src/main/upstream-auth/credential-source.js';
import type { BackendCredentialSource } from '../../src/main/upstream-auth/credential.js';
import { type Issuer, inSeconds, makeIssuer } from './keys.js';
import { connectClient } from './sdk-client.js';

export const USER_ISSUER = 'https://login.example.com';

/** The enterprise IdP users sign in with: tokens for `sub`, valid `ttl` seconds. */
export interface UserIdp {
  readonly issuer: Issuer;
  readonly trust: { readonly issuer: string; readonly jwks: Issuer['jwks'] };
  token(sub: string, extra?: Readonly<Record<string, unknown>>, ttl?: number): Promise<string>;
}

export async function startUserIdp(): Promise<UserIdp> {
  const issuer = await makeIssuer({ alg: 'ES256', kid: 'user-idp' });
  return {
    issuer,
    trust: { issuer: USER_ISSUER, jwks: issuer.jwks },
    token: (sub, extra = {}, ttl = 3600) => issuer.sign({ iss: USER_ISSUER, sub, aud: 'portcullis', iat: inSeconds(0), exp: inSeconds(ttl), ...extra }),
  };
}

/** A source from `backendAuth:` YAML (the mapping's lines, as under the key), via the loader. */
export function sourceFromYaml(backendAuthYaml: string, deps: SourceDeps = {}, cwd = '/'): BackendCredentialSource {
  const body = backendAuthYaml
    .trim()
    .split('\n')
    .map((l) => `          ${l}`)
    .join('\n');
  const text = `binds:\n- port: 9000\n  listeners:\n  - routes:\n    - policies:\n        backendAuth:\n${body}\n      backends:\n      - mcp: {targets: [{name: t, mcp: {host: "http://127.0.0.1:1/mcp"}}]}\n`;
  const loaded = loadConfigText(text, { cwd, env: {} });
  if (!loaded.ok) throw new Error(`config: ${loaded.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const policy = loaded.config.binds[0]?.listeners[0]?.routes[0]?.policies.backendAuth;
  if (policy === null || policy === undefined) throw new Error('no backendAuth');
  return credentialSource(policy, deps);
}

/** A caller jwtAuth verified: the token, its claims, and the headers the client sent. */
export function verifiedCaller(token: string, headers: ReadonlyArray<readonly [string, string]> = [['authorization', `Bearer ${token}`]], query = ''): CallerIdentity {
  return { token, claims: claimsOf(token), headers, query };
}

/** A caller on a route without jwtAuth: only what the client sent. */
export function anonymousCaller(headers: ReadonlyArray<readonly [string, string]>, query = ''): CallerIdentity {
  return { token: null, claims: null, headers, query };
}

function claimsOf(token: string): Claims {
  const value: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value));
  return Object.fromEntries(Object.entries(value));
}

export async function credentialFor(source: BackendCredentialSource, caller: CallerIdentity): Promise<Credential> {
  return source.credential(caller, () => new AbortController().signal);
}

export function expectGranted(c: Credential): Extract<Credential, { ok: true }> {
  if (!c.ok) throw new Error(`expected a credential, got ${c.status} ${c.message} (${c.detail})`);
  return c;
}

export function expectRefused(c: Credential): CredentialRefusal {
  if (c.ok) throw new Error(`expected a refusal, got inserts ${JSON.stringify(c.inserts.map((i) => i.name))}`);
  return c;
}

/** The bearer token a credential puts in the Authorization header. */
export function bearerOf(c: Credential): string {
  const granted = expectGranted(c);
  const header = granted.inserts.find((i) => i.kind === 'header' && i.name === 'authorization');
  assert.ok(header !== undefined && header.value.startsWith('Bearer '), 'an Authorization: Bearer insert');
  return header.value.slice('Bearer '.length);
}

/** Neither the message nor the detail of a refusal holds any of `secrets`. */
export function assertNoSecrets(refusal: CredentialRefusal, secrets: readonly string[]): void {
  for (const s of secrets) {
    assert.ok(!refusal.message.includes(s), `secret in message: ${refusal.message}`);
    assert.ok(!refusal.detail.includes(s), `secret in detail: ${refusal.detail}`);
  }
}

/** Calls the upstream's whoami with the client's headers after the credential is applied. */
export async function whoami(upstreamUrl: string, caller: CallerIdentity, c: Credential): Promise<{ sub: unknown; aud: unknown }> {
  const applied = applyCredential({ headers: caller.headers, pathAndQuery: new URL(upstreamUrl).pathname }, expectGranted(c));
  const client = await connectClient(upstreamUrl, undefined, { headers: Object.fromEntries(applied.headers) });
  try {
    const result = await client.client.callTool({ name: 'whoami', arguments: {} });
    const content: unknown = result.content;
    assert.ok(Array.isArray(content));
    const first: unknown = content[0];
    assert.ok(typeof first === 'object' && first !== null && 'text' in first && typeof first.text === 'string');
    const parsed: unknown = JSON.parse(first.text);
    assert.ok(typeof parsed === 'object' && parsed !== null && 'sub' in parsed && 'aud' in parsed);
    return { sub: parsed.sub, aud: parsed.aud };
  } finally {
    await client.close();
  }
}
