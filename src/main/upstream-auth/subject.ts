// Where an exchange's subject and actor tokens come from.
//
// agentgateway reads the default subject source (`Authorization: Bearer`) from the request as
// it stands when backendAuth runs, after jwtAuth has removed that header, so the default only
// works there with `source: {expression: jwt.rawToken.unredacted()}`. Portcullis resolves the
// default as "the caller's bearer token": the token jwtAuth / mcpAuthentication verified when
// there is one (the identity the gateway's rules decided on), else the Authorization header as
// the client sent it (a route without jwtAuth). A source written in the config reads exactly
// what it names, from the client's request as sent.

import { isDeepStrictEqual } from 'node:util';
import type { SourceLocation } from '../config/types.js';
import { DEFAULT_LOCATION } from '../config/read-token-location.js';
import { compileString } from './cel-params.js';
import type { CallerIdentity, CredentialRemove } from './credential.js';
import { unverifiedPayload } from './jwt-payload.js';
import { readLocation, removalOf } from './locations.js';

export interface TokenSource {
  /** the token, or null when the request has none there */
  read(caller: CallerIdentity): string | null;
  /** what to strip from the upstream request once exchanged (nothing for a CEL source) */
  readonly removal: CredentialRemove | null;
}

export function tokenSource(source: SourceLocation | null): TokenSource {
  if (source === null) {
    return { read: (caller) => caller.token ?? readLocation(DEFAULT_LOCATION, caller), removal: removalOf(DEFAULT_LOCATION) };
  }
  if (source.kind === 'expression') {
    const program = compileString(source.expr);
    return {
      read: (caller) => {
        const value = program(caller);
        return value === null || value.trim() === '' ? null : value;
      },
      removal: null,
    };
  }
  return { read: (caller) => readLocation(source, caller), removal: removalOf(source) };
}

/**
 * RFC 8693 §4.4: the subject's `may_act` names who may act for it. Every member of it must hold
 * in the actor token's claims (a list member: the actor's value is one of the list). An absent,
 * empty or non-object `may_act` authorises no one. The subject's claims are the verified ones
 * when it is the caller's token, else decoded from it; the actor's are decoded.
 */
export function mayAct(caller: CallerIdentity, subject: string, actor: string): boolean {
  const subjectClaims = subject === caller.token && caller.claims !== null ? caller.claims : unverifiedPayload(subject);
  const allowed = subjectClaims?.['may_act'];
  if (typeof allowed !== 'object' || allowed === null || Array.isArray(allowed)) return false;
  const entries = Object.entries(allowed);
  const actorClaims = unverifiedPayload(actor);
  if (entries.length === 0 || actorClaims === null) return false;
  return entries.every(([name, expected]) => {
    const value = Object.hasOwn(actorClaims, name) ? actorClaims[name] : undefined;
    if (value === undefined) return false;
    return Array.isArray(expected) ? expected.some((e) => isDeepStrictEqual(e, value)) : isDeepStrictEqual(expected, value);
  });
}
