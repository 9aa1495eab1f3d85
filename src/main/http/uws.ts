// Loads uWebSockets.js' native binary from whichever installed package has one for this Node
// ABI, platform and C library (uws-binaries.ts). A gateway that quietly runs several times
// slower is worse than one that refuses to start, so running without it needs an explicit
// opt-in; the opt-in runs node-front.ts, the same front on node:http (the packages' own pure-JS
// fallback leaves most of what the gateway calls unimplemented).

import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';
import type { FrontModule } from './front.js';
import { nodeFront } from './node-front.js';
import { uwsFront } from './uws-front.js';
import { currentRuntime, findNative, glibcOlderThan, glibcVersion, UWS_PACKAGES, type Attempt, type Runtime } from './uws-binaries.js';
import { GatewayError } from '../../protocol/errors.js';

type UwsModule = typeof Uws;

// The native listen takes options after a host too (`[host], port, [options], cb`); the
// package's typings declare them only after a port.
declare module 'uWebSockets.js' {
  interface TemplatedApp {
    listen(host: RecognizedString, port: number, options: ListenOptions, cb: (listenSocket: us_listen_socket | false) => void | Promise<void>): TemplatedApp;
  }
}

export class UwsLoadError extends GatewayError {
  constructor(message: string, options?: ErrorOptions) {
    super('GW_UWS_NATIVE_MISSING', message, options);
  }
}

export interface LoadedFront {
  readonly module: FrontModule;
  readonly native: boolean;
  /** the package and binary the native front came from, or why none loaded */
  readonly source: string;
}

const require = createRequire(import.meta.url);
let cached: LoadedFront | null = null;

function isUwsModule(m: unknown): m is UwsModule {
  return typeof m === 'object' && m !== null && 'App' in m && typeof m.App === 'function';
}

/** Requires one binary; throws when it does not load or is not uWS. */
export function loadBinary(path: string): FrontModule {
  const m: unknown = require(path);
  if (!isUwsModule(m)) throw new Error('it does not export App');
  return uwsFront(m);
}

const NODE_OF_ABI = new Map([['115', '20'], ['127', '22'], ['137', '24'], ['141', '25']]);

function waysOut(runtime: Runtime, glibc: string | null, tried: readonly Attempt[]): string[] {
  const ways: string[] = [];
  const onLinux = runtime.platform === 'linux';
  for (const a of tried) {
    const nodes = a.abis.flatMap((abi) => NODE_OF_ABI.get(abi) ?? []);
    if (nodes.length === 0) continue;
    const needs = onLinux ? `, glibc ≥ ${a.pkg.linuxGlibc}` : '';
    ways.push(`Node ${nodes.join(', ')} (${a.pkg.name}${needs})`);
  }
  const newerGlibc = tried.filter((a) => onLinux && glibc !== null && a.abis.includes(runtime.abi) && glibcOlderThan(glibc, a.pkg.linuxGlibc));
  return [
    ...(ways.length > 0 ? [`a Node version with a binary for ${runtime.platform}-${runtime.arch}: ${ways.join('; ')}`] : []),
    ...newerGlibc.map((a) => `a system with glibc ≥ ${a.pkg.linuxGlibc} (for ${a.pkg.name})`),
    '--allow-uws-fallback or PORTCULLIS_ALLOW_UWS_FALLBACK=1 to run on the slower node:http front',
  ];
}

/** Why no native binary loaded, and what would make one load. */
export function refusalMessage(runtime: Runtime, glibc: string | null, tried: readonly Attempt[]): string {
  const where = `${runtime.platform}-${runtime.arch}${glibc === null ? '' : `, glibc ${glibc}`}`;
  return [
    `uWebSockets.js native binary did not load on Node ${runtime.node} (ABI ${runtime.abi}, ${where}). Tried:`,
    ...tried.map((a) => `  - ${a.label}: ${a.path === null || a.error?.includes(a.path) === true ? '' : `${a.path}: `}${a.error ?? 'loaded'}`),
    'Portcullis refuses to run on a slow fallback unless asked to. Ways out:',
    ...waysOut(runtime, glibc, tried).map((w) => `  - ${w}`),
  ].join('\n');
}

/** The front module; throws UwsLoadError when no native binary loads and no fallback is allowed. */
export function loadUws(allowFallback: boolean): LoadedFront {
  if (cached !== null && (cached.native || allowFallback)) return cached;
  const runtime = currentRuntime();
  const found = findNative(UWS_PACKAGES, runtime, loadBinary);
  if (found.module !== null) {
    cached = { module: found.module, native: true, source: `${found.attempt.label} (${found.attempt.path ?? ''})` };
    return cached;
  }
  const message = refusalMessage(runtime, glibcVersion(), found.tried);
  if (!allowFallback) throw new UwsLoadError(message);
  cached = { module: nodeFront, native: false, source: message };
  return cached;
}

export { closeApp } from './uws-front.js';
