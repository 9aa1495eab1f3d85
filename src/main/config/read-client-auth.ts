// `clientAuth` of a token exchange (agentgateway `OAuthClientAuth`): `{clientId, clientSecret}`
// (Basic), or `method: clientSecretBasic | clientSecretPost | privateKeyJwt` with that method's
// fields. A privateKeyJwt signing key is parsed now and must fit `alg`; a certificate must be
// a PEM chain whose leaf holds the signing key's public key (agentgateway only warns on that).

import { X509Certificate, createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readSecret } from './read-secret.js';
import { type KeySpec, type MapReader, asOneOf, isPlainObject } from './schema-reader.js';
import type { ClientAuthConfig, SigningAlg } from './types.js';
import { errorText } from '../../protocol/errors.js';

const METHODS = ['clientSecretBasic', 'clientSecretPost', 'privateKeyJwt'] as const;
type Method = (typeof METHODS)[number];
const ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'] as const satisfies readonly SigningAlg[];

const SPECS: Readonly<Record<Method, KeySpec>> = {
  clientSecretBasic: { known: ['method', 'clientId', 'clientSecret'] },
  clientSecretPost: { known: ['method', 'clientId', 'clientSecret'] },
  privateKeyJwt: {
    known: ['method', 'clientId', 'signingKey', 'alg', 'kid', 'assertionAudience', 'certificate', 'certificateHeader'],
  },
};

export function readClientAuth(parent: MapReader, key: string, cwd: string, required = false): ClientAuthConfig | undefined {
  const raw = parent.value(key, required);
  if (raw === undefined) return undefined;
  let method: Method | undefined = 'clientSecretBasic';
  if (isPlainObject(raw) && Object.hasOwn(raw, 'method')) {
    method = asOneOf(parent.issues, `${parent.at(key)}.method`, raw['method'], METHODS);
  }
  if (method === undefined) return undefined;
  const m = parent.map(key, SPECS[method]);
  if (m === undefined) return undefined;
  const clientId = m.string('clientId', { required: true });
  if (clientId === '') m.issues.add(m.at('clientId'), 'must not be empty');

  switch (method) {
    case 'clientSecretBasic': {
      const clientSecret = readSecret(m, 'clientSecret', cwd);
      return clientId === undefined || clientId === '' || clientSecret === undefined ? undefined : { method, clientId, clientSecret };
    }
    case 'clientSecretPost': {
      const clientSecret = readSecret(m, 'clientSecret', cwd, false);
      if (clientSecret === undefined && m.has('clientSecret')) return undefined;
      return clientId === undefined || clientId === '' ? undefined : { method, clientId, clientSecret: clientSecret ?? null };
    }
    case 'privateKeyJwt':
      return readPrivateKeyJwt(m, clientId, cwd);
  }
}

function readPrivateKeyJwt(m: MapReader, clientId: string | undefined, cwd: string): ClientAuthConfig | undefined {
  const alg = m.oneOf('alg', ALGS) ?? (m.has('alg') ? undefined : 'RS256');
  const kid = m.string('kid', { nonEmpty: true });
  const assertionAudience = m.string('assertionAudience', { required: true, nonEmpty: true });
  const signingKey = readSecret(m, 'signingKey', cwd);
  const key = signingKey === undefined || alg === undefined ? undefined : signingKeyFor(m, signingKey.secret, alg);
  const header = m.oneOf('certificateHeader', ['x5c', 'x5t#S256'] as const);
  const certificate = m.has('certificate') ? readSecret(m, 'certificate', cwd) : undefined;
  const chain = certificate === undefined ? undefined : certificateChain(m, certificate.secret, key);
  let certOk = chain !== undefined && header !== undefined;
  if (!m.has('certificate') && !m.has('certificateHeader')) certOk = true;
  else if (!m.has('certificateHeader')) m.issues.add(m.at('certificateHeader'), 'required when certificate is set');
  else if (!m.has('certificate')) m.issues.add(m.at('certificate'), 'required when certificateHeader is set');
  const kidOk = kid !== undefined || !m.has('kid');
  if (clientId === undefined || clientId === '' || assertionAudience === undefined || signingKey === undefined || key === undefined) return undefined;
  if (alg === undefined || !kidOk || !certOk) return undefined;
  return {
    method: 'privateKeyJwt',
    clientId,
    signingKey,
    alg,
    kid: kid ?? null,
    assertionAudience,
    x5c: chain !== undefined && header === 'x5c' ? chain.map((der) => der.toString('base64')) : null,
    x5tS256: chain?.[0] !== undefined && header === 'x5t#S256' ? createHash('sha256').update(chain[0]).digest('base64url') : null,
  };
}

/** The PEM key when it signs `alg`; an issue otherwise (the message never holds key material). */
function signingKeyFor(m: MapReader, pem: string, alg: SigningAlg): KeyObject | undefined {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err: unknown) {
    m.issues.add(m.at('signingKey'), `not a PEM private key (${errorText(err)})`);
    return undefined;
  }
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails;
  const fits = alg.startsWith('ES')
    ? type === 'ec' && details?.namedCurve === (alg === 'ES256' ? 'prime256v1' : 'secp384r1')
    : (type === 'rsa' || (alg === 'PS256' && type === 'rsa-pss')) && (details?.modulusLength ?? 0) >= 2048;
  if (!fits) {
    const want = alg === 'ES256' ? 'an EC P-256 key' : alg === 'ES384' ? 'an EC P-384 key' : 'an RSA key of at least 2048 bits';
    m.issues.add(m.at('signingKey'), `alg ${alg} needs ${want}`);
    return undefined;
  }
  return key;
}

/** The DER certificates of a PEM chain, leaf first; an issue when it is not one. */
function certificateChain(m: MapReader, pem: string, key: KeyObject | undefined): Buffer[] | undefined {
  const path = m.at('certificate');
  const blocks = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)];
  if (blocks.length === 0) {
    m.issues.add(path, 'no PEM blocks found');
    return undefined;
  }
  const ders: Buffer[] = [];
  for (const [, label, body] of blocks) {
    if (label !== 'CERTIFICATE') {
      m.issues.add(path, `expected CERTIFICATE PEM blocks, found ${label ?? ''}`);
      return undefined;
    }
    const der = Buffer.from((body ?? '').replace(/\s+/g, ''), 'base64');
    try {
      const cert = new X509Certificate(der);
      if (ders.length === 0 && key !== undefined && !cert.publicKey.equals(createPublicKey(key))) {
        m.issues.add(path, "the first certificate's public key is not the signing key's");
        return undefined;
      }
    } catch (err: unknown) {
      m.issues.add(path, `not an X.509 certificate (${errorText(err)})`);
      return undefined;
    }
    ders.push(der);
  }
  return ders;
}
