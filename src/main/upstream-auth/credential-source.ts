// One BackendCredentialSource per backendAuth policy instance: its kind's credential, then the
// extra `credentials` (agentgateway inserts them after the primary kind, so one at the same
// place wins). Build it once per config generation: the exchanged-token cache lives with it.

import type { BackendAuthPolicy, ExtraCredential } from '../config/types.js';
import type { BackendCredentialSource, Credential, CredentialInsert } from './credential.js';
import { crossAppAccessSource } from './cross-app-access.js';
import type { SourceDeps } from './exchange-source.js';
import { insertAt } from './locations.js';
import { tokenExchangeSource } from './token-exchange.js';

export type { SourceDeps } from './exchange-source.js';

export function credentialSource(policy: BackendAuthPolicy, deps: SourceDeps = {}): BackendCredentialSource {
  const extras = policy.credentials.map((c: ExtraCredential) => insertAt(c.location, c.key.secret));
  switch (policy.kind) {
    case 'credentials':
      return fixed({ ok: true, removes: [], inserts: extras, outcome: 'static' });
    case 'key':
      return fixed({ ok: true, removes: [], inserts: [insertAt(policy.location, policy.value.secret), ...extras], outcome: 'static' });
    case 'passthrough': {
      const location = policy.location;
      return {
        cacheCounts: null,
        // No verified token: nothing to put back (agentgateway inserts nothing either).
        credential: (caller) => ({
          ok: true,
          removes: [],
          inserts: caller.token === null ? extras : [insertAt(location, caller.token), ...extras],
          outcome: 'passthrough',
        }),
      };
    }
    case 'oauthTokenExchange':
      return withExtras(tokenExchangeSource(policy.exchange, deps), extras);
    case 'crossAppAccess':
      return withExtras(crossAppAccessSource(policy.crossApp, deps), extras);
  }
}

function fixed(credential: Credential): BackendCredentialSource {
  return { cacheCounts: null, credential: () => credential };
}

function withExtras(source: BackendCredentialSource, extras: readonly CredentialInsert[]): BackendCredentialSource {
  if (extras.length === 0) return source;
  const add = (c: Credential): Credential => (c.ok ? { ...c, inserts: [...c.inserts, ...extras] } : c);
  return {
    cacheCounts: source.cacheCounts,
    credential: (caller, waiting) => {
      const c = source.credential(caller, waiting);
      return c instanceof Promise ? c.then(add) : add(c);
    },
  };
}
