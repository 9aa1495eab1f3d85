// What one case costs more than another, by area and by symbol, from Linux `perf` samples of the
// pinned gateway CPU: native code (OpenSSL's bignum math, V8's runtime, libc, the kernel's TCP)
// as well as JavaScript (with `--perf-basic-prof`), where a V8 .cpuprofile sees only JS frames.
//
// Record each case while ab.js runs it on both sides (an A/A, so the gateway CPU is busy throughout):
//   node dist/bench/ab.js --a <clone> --b <clone> --a-node --perf-basic-prof --b-node --perf-basic-prof \
//     --scenario fresh --rounds 3 --seconds 8 &
//   sleep 28; perf record -o fresh.data -C 0 -F 1999 -g -- sleep 12; wait
//   perf report -i fresh.data --no-children --sort sym -g none -n --percent-limit 0 > fresh.syms
// then, with each case's CPU µs per request from its ab.js output:
//   node dist/bench/perf-diff.js fresh.syms=65.5 call.syms=28.0 [--top 40]
// Each symbol's share of the busy samples (idle left out) times the case's µs per request gives
// its µs per request; the areas are rough groupings by symbol name.

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export type SymbolCosts = ReadonlyMap<string, number>;

const IDLE = /safe_halt|cpuidle|poll_idle|intel_idle/;

/** `perf report -n` lines (`  12.34%  5678  [.] symbol`) → samples per symbol. */
export function parseReport(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*[\d.]+%\s+(\d+)\s+(.+?)\s*$/.exec(line);
    if (m?.[1] === undefined || m[2] === undefined) continue;
    samples.set(m[2], (samples.get(m[2]) ?? 0) + Number(m[1]));
  }
  return samples;
}

/** µs per request of each symbol: its share of the busy samples times the case's µs per request. */
export function costsPerRequest(samples: ReadonlyMap<string, number>, usPerRequest: number): Map<string, number> {
  let busy = 0;
  for (const [sym, n] of samples) if (!IDLE.test(sym)) busy += n;
  const costs = new Map<string, number>();
  if (busy === 0) return costs;
  for (const [sym, n] of samples) if (!IDLE.test(sym)) costs.set(sym, (n / busy) * usPerRequest);
  return costs;
}

const AREAS: ReadonlyArray<readonly [string, RegExp]> = [
  ['kernel', /^\[k\]/],
  ['OpenSSL bignum math', /\bbn_|__bn_|\bBN_|_mont\b|_mont_/],
  ['Node crypto glue', /node::crypto|node::BaseObject|GlobalHandles/],
  ['OpenSSL set-up and digests', /OPENSSL|ossl_|EVP_|evp_|\brsa_|RSA_|sha256|sha512|do_name|pthread_rwlock|strcmp|strcasecmp|ERR_|lookup_translation|OBJ_|OSSL_/],
  ['libc memory', /malloc|free\b|_int_|unlink_chunk|cfree|memmove|memcpy|memset/],
  ['V8 GC', /Scaven|GC|Heap|Sweep|Mark|Evacuat|Collector|Marking|Page|Space/],
  ['V8 JSON', /Json/],
  ['V8 strings', /String|Utf8|simdutf|Internalize/],
  ['uWS', /uWS|HttpResponseWrapper|\bus_/],
  ['JavaScript: Portcullis', /JS:.*\/dist\/src\//],
  ['JavaScript: node_modules', /JS:.*node_modules/],
  ['JavaScript: other', /JS:|RegExp:/],
  ['V8 builtins', /Builtins_/],
  ['V8 runtime', /v8::/],
  ['Node and libuv', /node::|uv_|uv__/],
];

export function areaOf(sym: string): string {
  for (const [area, re] of AREAS) if (re.test(sym)) return area;
  return 'other';
}

function byArea(costs: SymbolCosts): Map<string, number> {
  const areas = new Map<string, number>();
  for (const [sym, us] of costs) {
    const area = areaOf(sym);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  return areas;
}

export interface DiffRow {
  readonly name: string;
  readonly a: number;
  readonly b: number;
}

/** Rows of both maps, largest difference (a − b) first. */
export function diffRows(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): DiffRow[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].map((name) => ({ name, a: a.get(name) ?? 0, b: b.get(name) ?? 0 })).sort((x, y) => y.a - y.b - (x.a - x.b));
}

function table(title: string, rows: readonly DiffRow[]): string {
  const f = (n: number): string => n.toFixed(2).padStart(7);
  const lines = [`${title}`, `${'a − b'.padStart(7)} ${'a'.padStart(7)} ${'b'.padStart(7)}  (µs per request)`];
  for (const r of rows) lines.push(`${f(r.a - r.b)} ${f(r.a)} ${f(r.b)}  ${r.name.slice(0, 110)}`);
  return lines.join('\n');
}

function caseArg(arg: string): { file: string; us: number } {
  const at = arg.lastIndexOf('=');
  const us = Number(arg.slice(at + 1));
  if (at <= 0 || !(us > 0)) throw new Error(`expected <perf report file>=<µs per request>, got ${arg}`);
  return { file: arg.slice(0, at), us };
}

function main(argv: readonly string[]): void {
  const topAt = argv.indexOf('--top');
  const top = topAt >= 0 ? Number(argv[topAt + 1]) : 40;
  const cases = argv.filter((a, i) => a !== '--top' && i !== topAt + 1 && !a.startsWith('--'));
  if (cases.length !== 2) throw new Error('usage: perf-diff.js <a.syms>=<µs/req> <b.syms>=<µs/req> [--top N]');
  const [a, b] = cases.map(caseArg) as [{ file: string; us: number }, { file: string; us: number }];
  const costA = costsPerRequest(parseReport(readFileSync(a.file, 'utf8')), a.us);
  const costB = costsPerRequest(parseReport(readFileSync(b.file, 'utf8')), b.us);
  console.log(`a: ${a.file}, ${a.us} µs per request\nb: ${b.file}, ${b.us} µs per request\na − b = ${(a.us - b.us).toFixed(1)} µs per request\n`);
  console.log(table('By area', diffRows(byArea(costA), byArea(costB))));
  console.log(`\n${table(`The ${top} symbols a spends most more on`, diffRows(costA, costB).slice(0, top))}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
