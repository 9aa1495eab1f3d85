// Lines of a process's output ('\n', a '\r' before it dropped), keeping at most `max` bytes of
// the line being read: the rest of an overlong line is counted, not kept. readline keeps an
// unfinished line whole: a process writing without line breaks grew the gateway's memory until
// a string past V8's maximum length threw where nothing catches it (the gateway exited).

export interface Line {
  readonly text: string;
  /** bytes of the line past the cap, dropped */
  readonly cut: number;
}

export class LineSplitter {
  readonly #max: number;
  #parts: Buffer[] = [];
  #kept = 0;
  #cut = 0;

  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  /** The lines `chunk` completes. */
  push(chunk: Buffer): Line[] {
    const lines: Line[] = [];
    let start = 0;
    for (;;) {
      // 0x0a never occurs inside a UTF-8 sequence: splitting bytes is safe.
      const nl = chunk.indexOf(0x0a, start);
      this.#keep(chunk.subarray(start, nl < 0 ? chunk.length : nl));
      if (nl < 0) return lines;
      lines.push(this.#take());
      start = nl + 1;
    }
  }

  /** The unfinished last line when the stream ends, if any. */
  end(): Line | null {
    return this.#kept + this.#cut === 0 ? null : this.#take();
  }

  /** Bytes of the unfinished line dropped so far: it is past the cap. */
  get cutting(): number {
    return this.#cut;
  }

  #keep(bytes: Buffer): void {
    const room = this.#max - this.#kept;
    if (bytes.length > room) {
      this.#cut += bytes.length - room;
      bytes = bytes.subarray(0, room);
    }
    if (bytes.length === 0) return;
    this.#parts.push(bytes);
    this.#kept += bytes.length;
  }

  #take(): Line {
    let bytes = this.#parts.length === 1 && this.#parts[0] !== undefined ? this.#parts[0] : Buffer.concat(this.#parts, this.#kept);
    if (this.#cut === 0 && bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    const line = { text: bytes.toString('utf8'), cut: this.#cut };
    this.#parts = [];
    this.#kept = 0;
    this.#cut = 0;
    return line;
  }
}
