// A listener's or gateway's `tls` (agentgateway `LocalTLSServerConfig`): the certificate and key
// served to clients, as file paths read and checked at load. `protocol` and `tls` go together as
// in agentgateway: HTTPS needs `tls`, HTTP refuses it, and no protocol with `tls` means HTTPS.

import { checkPair, pemFile } from './pem-files.js';
import { type MapReader, NOT_SUPPORTED } from './schema-reader.js';
import type { ListenerTls } from './types.js';

const UNSUPPORTED = ['mode', 'root', 'spiffe', 'cipherSuites', 'minTLSVersion', 'maxTLSVersion', 'minTlsVersion', 'maxTlsVersion', 'keyExchangeGroups'];
/** Protocols agentgateway listeners take that Portcullis does not serve. */
const OTHER_PROTOCOLS = ['TLS', 'TCP', 'HBONE'];

export type ListenerProtocol = 'HTTP' | 'HTTPS';

function readServerTls(parent: MapReader, cwd: string): ListenerTls | undefined {
  const m = parent.map('tls', { known: ['cert', 'key'], unsupported: UNSUPPORTED });
  if (m === undefined) return undefined;
  const before = m.issues.count;
  const cert = pemFile(m, 'cert', cwd);
  const key = pemFile(m, 'key', cwd);
  if (cert === null) m.issues.add(m.at('cert'), 'required');
  if (key === null) m.issues.add(m.at('key'), 'required');
  if (cert === null || cert === undefined || key === null || key === undefined) return undefined;
  checkPair(m, cert, key);
  return m.issues.count > before ? undefined : { cert, key };
}

/**
 * `protocol` and `tls` of a listener (or a gateway standing for its one listener). `byDefault` is
 * the protocol when none is written: HTTP for `binds` (agentgateway v0.10.5), HTTP or HTTPS by
 * whether `tls` is there for `gateways` (HEAD). Undefined when either is wrong (reported).
 */
export function readProtocolAndTls(
  m: MapReader,
  cwd: string,
  byDefault: (hasTls: boolean) => ListenerProtocol,
): { readonly protocol: ListenerProtocol; readonly tls: ListenerTls | null } | undefined {
  const written = m.value('protocol');
  let protocol: ListenerProtocol | undefined;
  if (written === undefined) protocol = byDefault(m.has('tls'));
  else if (written === 'HTTP' || written === 'HTTPS') protocol = written;
  else if (typeof written === 'string' && OTHER_PROTOCOLS.includes(written)) m.issues.add(m.at('protocol'), NOT_SUPPORTED);
  else m.issues.add(m.at('protocol'), 'expected HTTP or HTTPS');
  if (protocol === 'HTTP' && m.has('tls')) {
    m.issues.add(m.at('tls'), 'not allowed with protocol HTTP (for HTTPS, write protocol: HTTPS)');
    return undefined;
  }
  if (protocol === 'HTTPS' && !m.has('tls')) {
    m.issues.add(m.at('tls'), 'required: protocol HTTPS needs tls: {cert, key}');
    return undefined;
  }
  const tls = m.has('tls') ? readServerTls(m, cwd) : null;
  return protocol === undefined || tls === undefined ? undefined : { protocol, tls };
}
