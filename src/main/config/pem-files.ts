// PEM files named by the config (backendTLS, listener tls): read at load, checked at once, so a
// missing file, a PEM that does not parse, or a key that is not its certificate's is a config
// error naming the path, not a failed handshake later.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { MapReader } from './schema-reader.js';
import type { SecretValue } from './types.js';
import { errorText } from '../../protocol/errors.js';

const MAX_PEM_BYTES = 1024 * 1024;

/** The bytes of a PEM file, or why they cannot be used. */
export function readPem(abs: string): { readonly pem: string } | { readonly problem: string } {
  try {
    const bytes = readFileSync(abs);
    if (bytes.length > MAX_PEM_BYTES) return { problem: `${abs} is larger than ${MAX_PEM_BYTES} bytes` };
    return { pem: bytes.toString('utf8') };
  } catch (err: unknown) {
    return { problem: `could not read the file: ${errorText(err)}` };
  }
}

/** A PEM file named by `m[key]` (relative to cwd); null when the key is absent. */
export function pemFile(m: MapReader, key: string, cwd: string): SecretValue | null | undefined {
  if (!m.has(key)) return null;
  const file = m.string(key, { nonEmpty: true });
  if (file === undefined) return undefined;
  const abs = resolve(cwd, file);
  const read = readPem(abs);
  if ('problem' in read) {
    m.issues.add(m.at(key), read.problem);
    return undefined;
  }
  return { secret: read.pem, file: abs };
}

/** Why `pem` is no certificate bundle (each certificate must parse), or null. */
export function certificatesProblem(pem: string, name: string): string | null {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return `${name} holds no PEM certificate`;
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err: unknown) {
      return `${name}: a certificate does not parse (${errorText(err)})`;
    }
  }
  return null;
}

/** Why a certificate and a key cannot serve together, and which of the two is at fault; null when they can. */
export function pairProblem(cert: SecretValue, key: SecretValue): { readonly at: 'cert' | 'key'; readonly problem: string } | null {
  const certs = certificatesProblem(cert.secret, cert.file ?? 'cert');
  if (certs !== null) return { at: 'cert', problem: certs };
  try {
    createPrivateKey(key.secret);
  } catch {
    return { at: 'key', problem: `${key.file ?? 'key'} holds no private key PEM` };
  }
  try {
    createSecureContext({ cert: cert.secret, key: key.secret });
  } catch (err: unknown) {
    return { at: 'key', problem: `the key is not the certificate's (${errorText(err)})` };
  }
  return null;
}

export function checkCertificates(m: MapReader, key: string, pem: SecretValue): void {
  const problem = certificatesProblem(pem.secret, pem.file ?? key);
  if (problem !== null) m.issues.add(m.at(key), problem);
}

/** Reports at `m.cert` / `m.key` why the pair cannot serve, if it cannot. */
export function checkPair(m: MapReader, cert: SecretValue, key: SecretValue): void {
  const problem = pairProblem(cert, key);
  if (problem !== null) m.issues.add(m.at(problem.at), problem.problem);
}
