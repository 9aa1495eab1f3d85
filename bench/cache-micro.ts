// Micro-benchmark of a bounded cache under a stream of new keys (fresh tokens, new session ids):
// evicting the oldest entry one at a time with `map.keys().next()`, as the verified-token cache
// did, against src/main/generational-map.ts. Keys are token-sized strings.
//
//   npm run build && node dist/bench/cache-micro.js [--entries 10000] [--rounds 7]

import { GenerationalMap } from '../src/main/generational-map.js';
import { median, numberOption } from './micro-options.js';

const entries = numberOption('--entries', 10_000);
const rounds = numberOption('--rounds', 7);
const keys = Array.from({ length: entries * 5 }, (_, i) => `eyJhbGciOiJSUzI1NiJ9.${i}.${'x'.repeat(600)}`);

/** The replaced eviction: delete the first key in insertion order once full. */
function fifo(): number {
  const m = new Map<string, number>();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < keys.length; i++) {
    if (m.size >= entries) {
      const oldest = m.keys().next();
      if (oldest.done !== true) m.delete(oldest.value);
    }
    m.set(keys[i] ?? '', i);
  }
  return Number(process.hrtime.bigint() - t0) / keys.length;
}

function generational(): number {
  const m = new GenerationalMap<string, number>(entries);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < keys.length; i++) m.set(keys[i] ?? '', i);
  return Number(process.hrtime.bigint() - t0) / keys.length;
}

const a: number[] = [];
const b: number[] = [];
for (let r = 0; r < rounds; r++) {
  a.push(fifo());
  b.push(generational());
}
process.stdout.write(`${entries} entries, ${keys.length} insertions per round, median of ${rounds} rounds:\n`);
process.stdout.write(`  Map + keys().next() eviction: ${(median(a) / 1000).toFixed(2)} µs per insertion\n`);
process.stdout.write(`  GenerationalMap:              ${(median(b) / 1000).toFixed(2)} µs per insertion\n`);
