// uWebSockets.js' native binary, loaded directly, as src/main/http/uws.ts does for the gateway
// (bench may not import src/main for this): the package entry silently falls back to a slow
// pure-JS server when the binary does not load, which would make every bench figure meaningless.
// The bench never falls back.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Uws from 'uWebSockets.js';

export type UwsModule = typeof Uws;

const require = createRequire(import.meta.url);

function isUwsModule(m: unknown): m is UwsModule {
  return typeof m === 'object' && m !== null && 'App' in m && typeof m.App === 'function';
}

export function loadNativeUws(): UwsModule {
  const root = dirname(require.resolve('uWebSockets.js/package.json'));
  const binary = join(root, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  let m: unknown;
  try {
    m = require(binary);
  } catch (err) {
    throw new Error(`uWebSockets.js native binary did not load (${binary}): ${err instanceof Error ? err.message : String(err)}; the bench refuses the pure-JS fallback`, { cause: err });
  }
  if (!isUwsModule(m)) throw new Error(`${binary} does not export App`);
  return m;
}
