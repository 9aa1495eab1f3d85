// Which installed package has a uWebSockets.js binary that loads on this runtime. No npm build
// covers every Node ABI on every glibc: the trufflesuite build stops at Node 20, the btc-vision
// one starts at Node 20 but its Linux binaries need glibc 2.38. The binary is required directly,
// never through the package's own JS, which may swap in a slow pure-JS server without a word.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { errorText } from '../../protocol/errors.js';

export interface UwsPackage {
  /** the name code resolves (an alias for the trufflesuite build) */
  readonly name: string;
  /** where its binaries are, relative to the package root */
  readonly binaries: string;
  /** the newest glibc symbol version its Linux binaries need */
  readonly linuxGlibc: string;
  /** environment its binary reads once, as it loads: set for the load unless the operator set it */
  readonly loadEnv: ReadonlyArray<readonly [string, string]>;
}

/** Tried in this order: on Node 20 the build CI tests the native front with comes first, and the
 * newer one fills in the ABIs it lacks. */
export const UWS_PACKAGES: readonly UwsPackage[] = [
  { name: 'uWebSockets.js', binaries: 'binaries', linuxGlibc: '2.27', loadEnv: [] },
  // v20.57 answers 431 to a header block over 4 KiB unless told otherwise; v20.30 takes about
  // 128 KiB, and so does node-front.ts, so that a long token gets the gateway's own 401.
  { name: '@btc-vision/uwebsockets.js', binaries: '.', linuxGlibc: '2.38', loadEnv: [['UWS_HTTP_MAX_HEADERS_SIZE', String(128 * 1024)]] },
];

export interface Runtime {
  readonly node: string;
  /** process.versions.modules */
  readonly abi: string;
  readonly platform: string;
  readonly arch: string;
}

export function currentRuntime(): Runtime {
  return { node: process.version, abi: process.versions.modules, platform: process.platform, arch: process.arch };
}

/** The C library glibc's version, null elsewhere (macOS, musl). */
export function glibcVersion(): string | null {
  const header: unknown = Reflect.get(process.report.getReport(), 'header');
  const v: unknown = typeof header === 'object' && header !== null ? Reflect.get(header, 'glibcVersionRuntime') : undefined;
  return typeof v === 'string' ? v : null;
}

/** "2.36" < "2.38" */
export function glibcOlderThan(version: string, than: string): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  const [c = 0, d = 0] = than.split('.').map(Number);
  return a < c || (a === c && b < d);
}

/** One package tried: `error` null means it loaded. */
export interface Attempt {
  readonly pkg: UwsPackage;
  /** "name version" as installed, or the name alone when it is not */
  readonly label: string;
  readonly path: string | null;
  readonly error: string | null;
  /** the ABIs it has binaries for on this platform and architecture */
  readonly abis: readonly string[];
}

export type NativeSearch<M extends object> = { module: M; attempt: Attempt; tried: readonly Attempt[] } | { module: null; tried: readonly Attempt[] };

const require = createRequire(import.meta.url);

/** Found as require() would find it; not through require.resolve, which a package's `exports`
 * may refuse for package.json. */
function packageRoot(name: string): string | null {
  for (const dir of require.resolve.paths(name) ?? []) {
    if (existsSync(join(dir, name, 'package.json'))) return join(dir, name);
  }
  return null;
}

function installedLabel(pkg: UwsPackage, root: string): string {
  const meta: unknown = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const field = (key: string): unknown => (typeof meta === 'object' && meta !== null ? Reflect.get(meta, key) : undefined);
  const name = field('name');
  const version = field('version');
  const real = typeof name === 'string' && name !== pkg.name ? ` (${name})` : '';
  return `${pkg.name}${real} ${typeof version === 'string' ? version : '?'}`;
}

function abisIn(dir: string, runtime: Runtime): string[] {
  const prefix = `uws_${runtime.platform}_${runtime.arch}_`;
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.node'))
    .map((f) => f.slice(prefix.length, -'.node'.length))
    .sort((a, b) => Number(a) - Number(b));
}

function attempt<M extends object>(pkg: UwsPackage, runtime: Runtime, load: (path: string) => M): { attempt: Attempt; module: M | null } {
  const root = packageRoot(pkg.name);
  if (root === null) return { attempt: { pkg, label: pkg.name, path: null, error: 'not installed', abis: [] }, module: null };
  const label = installedLabel(pkg, root);
  const dir = join(root, pkg.binaries);
  const abis = abisIn(dir, runtime);
  const path = join(dir, `uws_${runtime.platform}_${runtime.arch}_${runtime.abi}.node`);
  if (!existsSync(path)) {
    return { attempt: { pkg, label, path: null, error: `no binary for ${runtime.platform}-${runtime.arch} ABI ${runtime.abi}`, abis }, module: null };
  }
  const set = pkg.loadEnv.filter(([name]) => process.env[name] === undefined);
  for (const [name, value] of set) process.env[name] = value;
  try {
    return { attempt: { pkg, label, path, error: null, abis }, module: load(path) };
  } catch (err) {
    return { attempt: { pkg, label, path, error: errorText(err), abis }, module: null };
  } finally {
    // read once by then: kept from the processes the gateway starts
    for (const [name] of set) delete process.env[name];
  }
}

/** Tries each package's binary for the runtime, in order; the first that `load` returns wins
 * (it throws for a binary that does not load or is not what it should be). */
export function findNative<M extends object>(packages: readonly UwsPackage[], runtime: Runtime, load: (path: string) => M): NativeSearch<M> {
  const tried: Attempt[] = [];
  for (const pkg of packages) {
    const r = attempt(pkg, runtime, load);
    tried.push(r.attempt);
    if (r.module !== null) return { module: r.module, attempt: r.attempt, tried };
  }
  return { module: null, tried };
}
