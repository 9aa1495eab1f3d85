// msgpackr codec for main ⇄ worker frames. No I/O.
//
// Plain maps (`useRecords: false`), not records: a record frame refers to structure
// definitions that the packing side keeps in its own Packr, so the other thread could only
// read it with the very same shared structures kept in sync on both sides. Plain maps make
// every frame self-describing, so any thread (or an inline actor) decodes it alone.
// `moreTypes: false` keeps the frame to the JSON-like subset the contract uses. (msgpackr
// decodes a `__proto__` key as `__proto_`, so such a claim is renamed across threads.)
import { Packr, Unpackr } from 'msgpackr';

const options = { useRecords: false, moreTypes: false, mapsAsObjects: true } as const;
const packr = new Packr(options);
const unpackr = new Unpackr(options);

export function encodeFrame(value: unknown): Uint8Array {
  // Packr returns a view into its reusable 8 KiB+ scratch buffer. Copy it out: structured
  // clone of a view copies the whole backing buffer, and the bytes must not alias later frames.
  return new Uint8Array(packr.pack(value));
}

/** Returns plain data; the caller validates its shape. Throws on bytes that are not msgpack. */
export function decodeFrame(bytes: Uint8Array): unknown {
  const value: unknown = unpackr.unpack(bytes);
  return value;
}
