// A private PKI made by `openssl` in a temp directory: a CA, and certificates it signs for the
// names and uses a test asks for (a server's, a client's). Files are PEM, named after what they
// hold, so a config can point at them as an operator's would.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir, type CleanupHost } from './files.js';

const run = promisify(execFile);

export interface Issued {
  /** paths of the PEM files */
  readonly cert: string;
  readonly key: string;
  /** their contents */
  readonly certPem: string;
  readonly keyPem: string;
}

export interface Pki {
  readonly dir: string;
  /** the CA's certificate (the bundle a client trusts) */
  readonly caCert: string;
  readonly caPem: string;
  /** A certificate signed by the CA: for a server (`names` as DNS/IP subjectAltNames) or a client. */
  issue(name: string, use: 'server' | 'client', names?: readonly string[]): Promise<Issued>;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

export async function makePki(t: CleanupHost, caName = 'Portcullis Test CA'): Promise<Pki> {
  const dir = await tempDir(t);
  await openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${caName}`);
  const caCert = join(dir, 'ca.pem');
  return {
    dir,
    caCert,
    caPem: await readFile(caCert, 'utf8'),
    issue: async (name, use, names = []) => {
      const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
      const ext = [
        use === 'server' ? 'extendedKeyUsage=serverAuth' : 'extendedKeyUsage=clientAuth',
        ...(san === '' ? [] : [`subjectAltName=${san}`]),
      ].join('\n');
      await writeFile(join(dir, `${name}.ext`), `${ext}\n`);
      await openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      await openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
      const cert = join(dir, `${name}.pem`);
      const key = join(dir, `${name}.key`);
      return { cert, key, certPem: await readFile(cert, 'utf8'), keyPem: await readFile(key, 'utf8') };
    },
  };
}
