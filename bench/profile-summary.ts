// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, self time per
// area (package / Portcullis module / node core / GC), and inclusive time of Portcullis' own
// functions. Idle time is reported but left out of the percentages.
//
// node dist/bench/profile-summary.js <file.cpuprofile>... [--top 25]

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children: readonly number[];
}

export interface CpuProfile {
  /** µs on the monotonic clock */
  readonly startTime: number;
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numbers(v: unknown, what: string): number[] {
  if (!Array.isArray(v)) throw new Error(`${what} is not an array`);
  return v.map((x, i) => {
    if (typeof x !== 'number') throw new Error(`${what}[${i}] is not a number`);
    return x;
  });
}

export function parseProfile(text: string): CpuProfile {
  const raw: unknown = JSON.parse(text);
  if (!isRecord(raw) || !Array.isArray(raw['nodes'])) throw new Error('not a .cpuprofile (no nodes)');
  const nodes = raw['nodes'].map((n: unknown, i): ProfileNode => {
    if (!isRecord(n) || typeof n['id'] !== 'number' || !isRecord(n['callFrame'])) throw new Error(`nodes[${i}] is malformed`);
    const cf = n['callFrame'];
    return {
      id: n['id'],
      callFrame: {
        functionName: typeof cf['functionName'] === 'string' ? cf['functionName'] : '',
        url: typeof cf['url'] === 'string' ? cf['url'] : '',
        lineNumber: typeof cf['lineNumber'] === 'number' ? cf['lineNumber'] : -1,
      },
      children: n['children'] === undefined ? [] : numbers(n['children'], `nodes[${i}].children`),
    };
  });
  const startTime = typeof raw['startTime'] === 'number' ? raw['startTime'] : 0;
  return { startTime, nodes, samples: numbers(raw['samples'], 'samples'), timeDeltas: numbers(raw['timeDeltas'], 'timeDeltas') };
}

/** A readable location: Portcullis files relative to dist/, packages as `pkg/…`, node core as is. */
function shortUrl(url: string): string {
  const u = url.startsWith('file://') ? url.slice(7) : url;
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + 14);
  const dist = u.lastIndexOf('/dist/');
  if (dist >= 0) return u.slice(dist + 6);
  return u;
}

/** The area a function belongs to: a package, a Portcullis directory, node core, or a VM bucket. */
export function areaOf(cf: CallFrame): string {
  if (cf.url === '') return cf.functionName.startsWith('(') ? cf.functionName : '(native / builtin)';
  if (cf.url.startsWith('node:')) return 'node core';
  const u = shortUrl(cf.url);
  if (cf.url.includes('/node_modules/')) {
    const parts = u.split('/');
    return parts[0]?.startsWith('@') === true ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? u);
  }
  const m = /^(src\/[a-z]+(?:\/[a-z-]+)?)\//.exec(u);
  return m?.[1] ?? u;
}

function keyOf(cf: CallFrame): string {
  if (cf.url === '') return cf.functionName === '' ? '(anonymous native)' : cf.functionName;
  return `${cf.functionName === '' ? '(anonymous)' : cf.functionName}  ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
}

export interface Row {
  readonly name: string;
  readonly ms: number;
  /** share of busy (non-idle) time */
  readonly pct: number;
}

export interface Summary {
  readonly file: string;
  /** true when only the samples inside the requested time window were counted */
  readonly windowed: boolean;
  readonly totalMs: number;
  readonly idleMs: number;
  readonly busyMs: number;
  readonly selfByFunction: readonly Row[];
  readonly selfByArea: readonly Row[];
  /** inclusive time of Portcullis functions (src/), each counted once per sample */
  readonly inclusivePortcullis: readonly Row[];
}

/** Time the thread spends blocked rather than computing: V8's (idle), and Piscina's
 * Atomics.wait loop in a worker waiting for tasks (the profiler samples wall time). */
function isWaiting(cf: CallFrame): boolean {
  return cf.functionName === '(idle)' || (cf.functionName === 'atomicsWaitLoop' && cf.url.includes('piscina'));
}

/**
 * Self and inclusive time per function. `window` ([from, to] µs on the monotonic clock, as
 * process.hrtime) keeps only the samples taken under load, leaving out start-up and shutdown.
 */
export function summarize(profile: CpuProfile, file: string, window?: readonly [number, number]): Summary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const area = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  const n = profile.samples.length;
  let at = profile.startTime;
  // A window that misses the profile entirely (another clock) is ignored rather than empty.
  const endTime = profile.timeDeltas.reduce((a, b) => a + b, profile.startTime);
  const useWindow = window !== undefined && window[0] < endTime && window[1] > profile.startTime;
  for (let i = 0; i < n; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (useWindow && (at < window[0] || at > window[1])) continue;
    // Sample i lasts until the next one (Chrome DevTools' convention).
    const us = i + 1 < n ? (profile.timeDeltas[i + 1] ?? 0) : 0;
    const id = profile.samples[i];
    const node = id === undefined ? undefined : byId.get(id);
    if (node === undefined || us <= 0) continue;
    total += us;
    if (isWaiting(node.callFrame)) {
      idle += us;
      continue;
    }
    const k = keyOf(node.callFrame);
    self.set(k, (self.get(k) ?? 0) + us);
    const a = areaOf(node.callFrame);
    area.set(a, (area.get(a) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = node.id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)?.callFrame;
      if (cf === undefined || !shortUrl(cf.url).startsWith('src/')) continue;
      const key = keyOf(cf);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const rows = (m: Map<string, number>): Row[] =>
    [...m.entries()].sort((x, y) => y[1] - x[1]).map(([name, us]) => ({ name, ms: us / 1000, pct: busy > 0 ? (100 * us) / busy : 0 }));
  return {
    file,
    windowed: useWindow,
    totalMs: total / 1000,
    idleMs: idle / 1000,
    busyMs: busy / 1000,
    selfByFunction: rows(self),
    selfByArea: rows(area),
    inclusivePortcullis: rows(inclusive),
  };
}

export function formatSummary(s: Summary, top = 25): string {
  const table = (title: string, rows: readonly Row[], limit: number): string => {
    const lines = rows.slice(0, limit).map((r) => `| ${r.pct.toFixed(1).padStart(5)} % | ${r.ms.toFixed(0).padStart(6)} | \`${r.name.replace(/\|/g, '\\|')}\` |`);
    return `${title}\n\n| busy % | ms | function |\n|--:|--:|---|\n${lines.join('\n')}\n`;
  };
  return [
    `### ${s.file}`,
    '',
    `sampled ${s.totalMs.toFixed(0)} ms${s.windowed ? ' (the measured load only)' : ' (whole process life)'}, idle or waiting ${s.idleMs.toFixed(0)} ms, busy ${s.busyMs.toFixed(0)} ms`,
    '',
    table('Self time by area:', s.selfByArea, 15),
    table(`Self time by function (top ${top}):`, s.selfByFunction, top),
    table('Inclusive time of Portcullis functions (top 15):', s.inclusivePortcullis, 15),
  ].join('\n');
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const args = process.argv.slice(2);
  const t = args.indexOf('--top');
  const top = t >= 0 ? Number(args[t + 1] ?? '25') : 25;
  const files = args.filter((a, i) => a !== '--top' && (t < 0 || i !== t + 1));
  if (files.length === 0) {
    process.stderr.write('usage: node dist/bench/profile-summary.js <file.cpuprofile>... [--top 25]\n');
    process.exit(2);
  }
  for (const f of files) process.stdout.write(`${formatSummary(summarize(parseProfile(readFileSync(f, 'utf8')), basename(f)), top)}\n`);
}
