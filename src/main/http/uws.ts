// Loads uWebSockets.js' native binary directly. The npm build we depend on silently falls back
// to a slow pure-JS server when its binary does not load; a gateway that quietly runs 5× slower
// is worse than one that refuses to start, so the fallback needs an explicit opt-in. That
// package's fallback leaves most of what the gateway calls unimplemented (every request crashed
// the process on it), so the opt-in runs node-front.ts, the same front on node:http, instead.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Uws from 'uWebSockets.js';
import type { FrontApp, FrontModule } from './front.js';
import { nodeFront } from './node-front.js';

type UwsModule = typeof Uws;

export class UwsLoadError extends Error {
  readonly code = 'GW_UWS_NATIVE_MISSING';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UwsLoadError';
  }
}

const require = createRequire(import.meta.url);
let cached: { module: FrontModule; native: boolean } | null = null;

function isUwsModule(m: unknown): m is UwsModule {
  return typeof m === 'object' && m !== null && 'App' in m && typeof m.App === 'function';
}

/** The uWS module; throws UwsLoadError when the native binary cannot load and no fallback is allowed. */
export function loadUws(allowFallback: boolean): { module: FrontModule; native: boolean } {
  if (cached !== null && (cached.native || allowFallback)) return cached;
  const root = dirname(require.resolve('uWebSockets.js/package.json'));
  const binary = join(root, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  try {
    const m: unknown = require(binary);
    if (!isUwsModule(m)) throw new Error(`${binary} does not export App`);
    // Checked here at compile time: the native module is a FrontModule as it is.
    const front: FrontModule = m;
    cached = { module: front, native: true };
    return cached;
  } catch (err) {
    if (!allowFallback) {
      throw new UwsLoadError(
        `uWebSockets.js native binary did not load (${binary}): ${err instanceof Error ? err.message : String(err)}. ` +
          'Portcullis refuses to run on the slow pure-JS fallback; set PORTCULLIS_ALLOW_UWS_FALLBACK=1 to run anyway.',
        { cause: err },
      );
    }
    cached = { module: nodeFront, native: false };
    return cached;
  }
}

/** Closes every socket of an app, idle keep-alive connections included (uWS ≥ 20.27 has
 * App.close(); its typings do not declare it). */
export function closeApp(app: FrontApp): void {
  const close: unknown = Reflect.get(app, 'close');
  if (typeof close === 'function') Reflect.apply(close, app, []);
}
