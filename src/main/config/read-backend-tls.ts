// `backendTLS` (agentgateway HEAD `LocalBackendTLS`): how an https upstream is verified and what
// the gateway presents to it. `root` (a CA bundle: private PKI), `cert` + `key` (mutual TLS),
// `hostname` (SNI and the name verified), `insecure` (no verification) and `insecureHost` (the
// chain, not the name). Files are paths, read at load (a reload reads them again), checked here:
// a missing file, a PEM that does not parse, or a key that is not the certificate's is a config
// error naming the path. `backendTLS: {}` is the default: the system roots, the URL's host.

import { checkCertificates, checkPair, pemFile } from './pem-files.js';
import { type IssueList, MapReader } from './schema-reader.js';
import type { BackendTlsPolicy } from './types.js';

const UNSUPPORTED = ['alpn', 'subjectAltNames', 'keyExchangeGroups', 'spiffe'];

export function readBackendTls(issues: IssueList, path: string, value: unknown, cwd: string): BackendTlsPolicy | undefined {
  const m = MapReader.open(issues, path, value ?? {}, { known: ['cert', 'key', 'root', 'hostname', 'insecure', 'insecureHost'], unsupported: UNSUPPORTED });
  if (m === undefined) return undefined;
  const before = issues.count;
  const root = pemFile(m, 'root', cwd);
  const cert = pemFile(m, 'cert', cwd);
  const key = pemFile(m, 'key', cwd);
  const hostname = m.string('hostname', { nonEmpty: true }) ?? null;
  const insecure = m.boolean('insecure') ?? false;
  const insecureHost = m.boolean('insecureHost') ?? false;
  if (root !== null && root !== undefined) checkCertificates(m, 'root', root);
  if ((cert === null) !== (key === null)) issues.add(m.at(cert === null ? 'cert' : 'key'), 'cert and key go together (mutual TLS): give both');
  else if (cert !== null && cert !== undefined && key !== null && key !== undefined) checkPair(m, cert, key);
  if (insecure && insecureHost) issues.add(m.at('insecureHost'), 'insecure already skips every check');
  if (issues.count > before || root === undefined || cert === undefined || key === undefined) return undefined;
  return { root, cert, key, hostname, insecure, insecureHost };
}
