// What a `backendTLS` policy means to undici: the connect options of its TLS sockets (the CA
// bundle, the client certificate, the name sent and verified, what is not verified), and an
// Agent for the one-off HTTP clients (legacy SSE targets, token endpoints, JWKS and discovery).

import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import type { BackendTlsPolicy } from '../config/types.js';

export interface TlsConnectOptions {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly servername?: string;
  readonly rejectUnauthorized?: boolean;
  readonly checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

export function tlsConnectOptions(policy: BackendTlsPolicy): TlsConnectOptions {
  const name = policy.hostname;
  return {
    ...(policy.root === null ? {} : { ca: policy.root.secret }),
    ...(policy.cert === null || policy.key === null ? {} : { cert: policy.cert.secret, key: policy.key.secret }),
    ...(name === null ? {} : { servername: name }),
    ...(policy.insecure ? { rejectUnauthorized: false } : {}),
    // The name verified: none (insecureHost), the configured one, or the URL's (Node's default).
    ...(policy.insecureHost ? { checkServerIdentity: () => undefined } : name === null ? {} : { checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(name, cert) }),
  };
}

/** An undici dispatcher connecting as `policy` says; undefined (the global one) without a policy. */
export function tlsDispatcher(policy: BackendTlsPolicy | null): Dispatcher | undefined {
  return policy === null ? undefined : new Agent({ connect: tlsConnectOptions(policy) });
}

/** What `policy` leaves unverified, for a warning in the log; null when it verifies everything. */
export function insecureWarning(policy: BackendTlsPolicy | null): string | null {
  if (policy?.insecure === true) return 'insecure: certificates are not verified';
  if (policy?.insecureHost === true) return 'insecureHost: the name in the certificate is not verified';
  return null;
}

/** Two policies that connect the same way share pools (the same files, names and flags). */
export function tlsIdentity(policy: BackendTlsPolicy | null): string {
  if (policy === null) return '';
  return JSON.stringify([policy.root?.secret ?? null, policy.cert?.secret ?? null, policy.key?.secret ?? null, policy.hostname, policy.insecure, policy.insecureHost]);
}
