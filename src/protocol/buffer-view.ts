// Node's Buffer methods (toString with an encoding, indexOf of bytes, copy) over bytes that may
// come as a plain Uint8Array (uWS, a rewritten answer): a view of the same memory, no copy.

/** `bytes` as a Buffer over the same memory (itself when it is one). */
export function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
