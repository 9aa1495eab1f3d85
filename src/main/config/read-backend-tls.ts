// `backendTLS` (agentgateway HEAD `LocalBackendTLS`): how an https upstream is verified and what
// the gateway presents to it. `root` (a CA bundle: private PKI), `cert` + `key` (mutual TLS),
// `hostname` (SNI and the name verified), `insecure` (no verification) and `insecureHost` (the
// chain, not the name). Files are paths, read at load (a reload reads them again), checked here:
// a missing file, a PEM that does not parse, or a key that is not the certificate's is a config
// error naming the path. `backendTLS: {}` is the default: the system roots, the URL's host.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { type IssueList, MapReader } from './schema-reader.js';
import type { BackendTlsPolicy, SecretValue } from './types.js';
import { errorText } from '../../protocol/errors.js';

const UNSUPPORTED = ['alpn', 'subjectAltNames', 'keyExchangeGroups', 'spiffe'];
const MAX_PEM_BYTES = 1024 * 1024;

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

/** A PEM file named by a path; null when the key is absent. */
function pemFile(m: MapReader, key: string, cwd: string): SecretValue | null | undefined {
  if (!m.has(key)) return null;
  const file = m.string(key, { nonEmpty: true });
  if (file === undefined) return undefined;
  const abs = resolve(cwd, file);
  try {
    const bytes = readFileSync(abs);
    if (bytes.length > MAX_PEM_BYTES) {
      m.issues.add(m.at(key), `${abs} is larger than ${MAX_PEM_BYTES} bytes`);
      return undefined;
    }
    return { secret: bytes.toString('utf8'), file: abs };
  } catch (err: unknown) {
    m.issues.add(m.at(key), `could not read the file: ${errorText(err)}`);
    return undefined;
  }
}

function checkCertificates(m: MapReader, key: string, pem: SecretValue): void {
  const blocks = pem.secret.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    m.issues.add(m.at(key), `${pem.file ?? key} holds no PEM certificate`);
    return;
  }
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err: unknown) {
      m.issues.add(m.at(key), `${pem.file ?? key}: a certificate does not parse (${errorText(err)})`);
      return;
    }
  }
}

function checkPair(m: MapReader, cert: SecretValue, key: SecretValue): void {
  checkCertificates(m, 'cert', cert);
  try {
    createPrivateKey(key.secret);
  } catch {
    m.issues.add(m.at('key'), `${key.file ?? 'key'} holds no private key PEM`);
    return;
  }
  try {
    createSecureContext({ cert: cert.secret, key: key.secret });
  } catch (err: unknown) {
    m.issues.add(m.at('key'), `the key is not the certificate's (${errorText(err)})`);
  }
}
