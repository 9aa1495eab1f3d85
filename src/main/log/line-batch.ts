// Log lines joined in memory and handed on in batches: a write per request is dear (SonicBoom's
// `write` measures the byte length of everything it holds on every call, and each write it starts
// is a task on libuv's thread pool plus a completion callback), so lines are joined here into one
// write per ~16 KB or per 100 ms.

export interface LineBatchOptions {
  /** hand the batch on once it holds this many characters */
  readonly maxChars: number;
  /** ... or once the oldest line has waited this long */
  readonly maxDelayMs: number;
}

export class LineBatch {
  readonly #out: (chunk: string) => void;
  readonly #maxChars: number;
  readonly #maxDelayMs: number;
  #pending = '';
  #timer: NodeJS.Timeout | null = null;

  constructor(out: (chunk: string) => void, options: LineBatchOptions = { maxChars: 16_384, maxDelayMs: 100 }) {
    this.#out = out;
    this.#maxChars = options.maxChars;
    this.#maxDelayMs = options.maxDelayMs;
  }

  /** Queues `text` (whole lines) behind what is already waiting. */
  add(text: string): void {
    this.#pending += text;
    if (this.#pending.length >= this.#maxChars) this.flush();
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
    if (this.#pending === '') return;
    const chunk = this.#pending;
    this.#pending = '';
    this.#out(chunk);
  }
}
