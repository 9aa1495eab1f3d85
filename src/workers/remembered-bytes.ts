// A list answer recognised while still in bytes. The text path (filter-list.ts) decodes the
// answer, finds the remembered `result` text in it and builds the answer as a new string, which
// the front then encodes again; for a list it has seen before, the gateway can find the
// remembered bytes (a memcmp), check the few characters around them, and send the original
// bytes with the remembered filtered bytes in place of the result's. It answers exactly what the
// text path answers: only valid UTF-8 is taken here (decoding would replace other bytes, so
// those answers go the text path), and in valid UTF-8 a match of the remembered bytes, which
// start and end with an ASCII brace, lies on character boundaries where the text path finds the
// same text.

import { isUtf8 } from 'node:buffer';
import type { CompiledRuleSet } from './cel/compile.js';
import { cacheKey, soleResultAt, type ListOfCaller } from './filter-list.js';
import type { FilteredListCache } from './list-cache.js';
import { bufferView } from '../protocol/buffer-view.js';
import type { RememberedAnswer } from '../protocol/policy-engine.js';

const resultName = Buffer.from('"result":');

/** The byte after the first `"result":` and any whitespace, or -1: a place to look first. */
function resultHint(bytes: Buffer): number {
  const at = bytes.indexOf(resultName);
  if (at < 0) return -1;
  for (let i = at + resultName.length; ; i++) {
    const b = bytes[i];
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return i;
  }
}

/** Spliced answers are carved from one large buffer at a time, as Node's Buffer pool carves
 * small buffers (it takes only those under 4 KB; a list answer is larger, and a buffer of its
 * own per answer costs about what the splice saves). A slab stays alive while any answer carved
 * from it does; every byte of an answer is written before it is handed out. */
const SLAB_BYTES = 256 * 1024;
/** empty until the first answer is carved (a pool worker keeps no list cache, and never does) */
let slab = Buffer.alloc(0);
let slabUsed = 0;

function carve(size: number): Buffer {
  if (size > SLAB_BYTES / 4) return Buffer.allocUnsafe(size);
  if (slabUsed + size > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + size);
  slabUsed += (size + 7) & ~7;
  return out;
}

/** `bytes` with b[at, after) replaced by `inner`. */
function splice(bytes: Buffer, at: number, after: number, inner: Buffer): Buffer {
  const out = carve(at + inner.length + (bytes.length - after));
  bytes.copy(out, 0, 0, at);
  inner.copy(out, at);
  bytes.copy(out, at + inner.length, after);
  return out;
}

/** What the cache remembers for this answer, or null (decode it and take the text path). A
 * lookup that finds nothing is not counted here: the text path counts it. */
export function rememberedAnswer(rules: CompiledRuleSet, req: ListOfCaller, message: Uint8Array, cache: FilteredListCache): RememberedAnswer | null {
  const bytes = bufferView(message);
  if (bytes.length === 0 || !isUtf8(bytes)) return null;
  const key = cacheKey(rules, req);
  const hit = key === null ? null : cache.findBytes(key, bytes, resultHint(bytes));
  if (hit === null) return null;
  const { entry, at } = hit;
  const after = at + entry.resultBytes.length;
  const before = bytes.toString('utf8', 0, at);
  if (!soleResultAt(`${before}{}${bytes.toString('utf8', after)}`, before.length)) return null;
  cache.count(true);
  const filtered = entry.filteredBytes;
  return {
    body: filtered === null ? null : splice(bytes, at, after, filtered),
    kept: entry.kept,
    removed: entry.removed,
    ruleErrors: entry.ruleErrors,
  };
}
