// Micro-benchmark of reading a POST's JSON-RPC message: JSON.parse, the member names and depth
// checked character by character, the shape read from the value (parse-based-message.ts, what
// the gateway did) against src/protocol/jsonrpc.ts's one strict pass over the text. Bodies: the
// bench's tools/call and tools/list, and tools/call with larger arguments.
//
//   npm run build && node dist/bench/message-micro.js [--rounds 7]

import { parseMessage } from '../src/protocol/jsonrpc.js';
import { BODIES } from './fixtures.js';
import { referenceParseMessage } from './parse-based-message.js';

const at = process.argv.indexOf('--rounds');
const rounds = at < 0 ? 7 : Math.max(1, Number(process.argv[at + 1]) || 7);

const call = (args: unknown): string => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search', arguments: args } });
const bodies: ReadonlyArray<readonly [string, string]> = [
  ['bench tools/call', BODIES.call],
  ['bench tools/list', BODIES.list],
  ['tools/call, 0.7 KB', call({ query: 'q'.repeat(300), filters: Array.from({ length: 10 }, (_, i) => ({ k: `key${i}`, v: `value number ${i}` })) })],
  ['tools/call, 5 KB', call({ text: 'x'.repeat(4000), items: Array.from({ length: 50 }, (_, i) => ({ k: i, v: `val${i}` })) })],
];

/** µs per message, the body decoded from bytes each time as the gateway does. */
function time(read: (text: string) => unknown, body: Buffer): number {
  const n = Math.max(1000, Math.floor(3e7 / body.byteLength));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) read(body.toString('utf8'));
  return Number(process.hrtime.bigint() - t0) / n / 1000;
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
process.stdout.write(`median of ${rounds} rounds, µs per message (parse + check → scan):\n`);
for (const [label, text] of bodies) {
  const body = Buffer.from(text);
  const parsed: number[] = [];
  const scanned: number[] = [];
  for (let r = 0; r < rounds; r++) {
    parsed.push(time(referenceParseMessage, body));
    scanned.push(time(parseMessage, body));
  }
  const a = median(parsed);
  const b = median(scanned);
  process.stdout.write(`  ${label} (${body.byteLength} B): ${a.toFixed(2)} → ${b.toFixed(2)} (${(b / a).toFixed(2)}×)\n`);
}
