// New key pairs as KeyObjects that share nothing with the job that generated them. Node 20
// deadlocks when the garbage collector finalizes a key generation job while a KeyObject that job
// produced is being exported (as JWK): the job's destructor takes the key's lock, which the export
// holds, on the same thread. It hung a CI run in `export({ format: 'jwk' })`, and a loop of
// generate + export hangs within seconds. Generating to DER and importing it gives keys with locks
// of their own.

import { createPrivateKey, createPublicKey, generateKeyPair, generateKeyPairSync, type KeyObject } from 'node:crypto';

export type KeySpec =
  | { readonly type: 'rsa'; readonly modulusLength: number }
  | { readonly type: 'ec'; readonly namedCurve: string }
  | { readonly type: 'ed25519' };

export interface KeyObjectPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

const spki = { type: 'spki', format: 'der' } as const;
const pkcs8 = { type: 'pkcs8', format: 'der' } as const;

function imported(publicDer: Buffer, privateDer: Buffer): KeyObjectPair {
  return {
    publicKey: createPublicKey({ key: publicDer, format: 'der', type: 'spki' }),
    privateKey: createPrivateKey({ key: privateDer, format: 'der', type: 'pkcs8' }),
  };
}

export function newKeyPairSync(spec: KeySpec): KeyObjectPair {
  if (spec.type === 'rsa') {
    const pair = generateKeyPairSync('rsa', { modulusLength: spec.modulusLength, publicKeyEncoding: spki, privateKeyEncoding: pkcs8 });
    return imported(pair.publicKey, pair.privateKey);
  }
  if (spec.type === 'ec') {
    const pair = generateKeyPairSync('ec', { namedCurve: spec.namedCurve, publicKeyEncoding: spki, privateKeyEncoding: pkcs8 });
    return imported(pair.publicKey, pair.privateKey);
  }
  const pair = generateKeyPairSync('ed25519', { publicKeyEncoding: spki, privateKeyEncoding: pkcs8 });
  return imported(pair.publicKey, pair.privateKey);
}

/** The same, generated on libuv's thread pool. */
export function newKeyPair(spec: KeySpec): Promise<KeyObjectPair> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicDer: Buffer, privateDer: Buffer): void => {
      if (err !== null) reject(err);
      else resolve(imported(publicDer, privateDer));
    };
    if (spec.type === 'rsa') generateKeyPair('rsa', { modulusLength: spec.modulusLength, publicKeyEncoding: spki, privateKeyEncoding: pkcs8 }, done);
    else if (spec.type === 'ec') generateKeyPair('ec', { namedCurve: spec.namedCurve, publicKeyEncoding: spki, privateKeyEncoding: pkcs8 }, done);
    else generateKeyPair('ed25519', { publicKeyEncoding: spki, privateKeyEncoding: pkcs8 }, done);
  });
}
