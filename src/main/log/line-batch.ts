// Log lines joined in memory and handed on in batches: a write per request is dear (each write
// is a task on libuv's thread pool plus a completion callback), so lines are joined here into one
// write per ~16 KB or per 100 ms. Each line is encoded into the batch's buffer as it comes, so
// no line outlives its request as a string: a string batch held every line (and its pieces) for
// a few milliseconds, long enough for young-generation collections to copy and promote them, and
// was then flattened, measured and encoded again in one go by the writer.

export interface LineBatchOptions {
  /** a batch's buffer: a batch leaves once the next line would not fit, or it is full */
  readonly maxBytes: number;
  /** ... or once the oldest line has waited this long */
  readonly maxDelayMs: number;
}

export class LineBatch {
  readonly #out: (chunk: Buffer) => void;
  readonly #maxBytes: number;
  readonly #maxDelayMs: number;
  /** the batch being filled (handed on whole: the writer keeps it until written) */
  #buf: Buffer | null = null;
  #used = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(out: (chunk: Buffer) => void, options: LineBatchOptions = { maxBytes: 16_384, maxDelayMs: 100 }) {
    this.#out = out;
    this.#maxBytes = options.maxBytes;
    this.#maxDelayMs = options.maxDelayMs;
  }

  /** Queues `text` (whole lines) behind what is already waiting. */
  add(text: string): void {
    // A UTF-16 unit is at most 3 bytes of UTF-8: only a line that might not fit is measured.
    if (this.#used + text.length * 3 > this.#maxBytes) {
      const bytes = Buffer.byteLength(text, 'utf8');
      if (this.#used + bytes > this.#maxBytes) this.flush();
      if (bytes > this.#maxBytes) {
        // Longer than a batch: on its own, after what was waiting.
        this.#out(Buffer.from(text, 'utf8'));
        return;
      }
    }
    const buf = (this.#buf ??= Buffer.allocUnsafe(this.#maxBytes));
    this.#used += buf.write(text, this.#used, 'utf8');
    if (this.#used >= this.#maxBytes) this.flush();
    else if (this.#timer === null) {
      // One pending timer at most, and unref'd: nothing to stop when the gateway closes, and a
      // quiet gateway is not kept alive by it.
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.flush();
      }, this.#maxDelayMs);
      this.#timer.unref();
    }
  }

  /** Hands on everything waiting, now. */
  flush(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const buf = this.#buf;
    if (buf === null || this.#used === 0) return;
    const chunk = buf.subarray(0, this.#used);
    this.#buf = null;
    this.#used = 0;
    this.#out(chunk);
  }
}
