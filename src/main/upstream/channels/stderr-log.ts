// A stdio server's stderr, line by line, into the gateway's log: each line cut to a few KiB, and
// at most so many bytes a second (a token bucket with a burst), so a broken or chatty server
// cannot flood the log. Lines left out are counted in the next line logged, or at the end.

import { LineSplitter } from './line-splitter.js';

export const maxStderrLineBytes = 4096;
/** logged bytes a second, steady */
const bytesPerSecond = 64 * 1024;
/** logged bytes at once, after a quiet while */
const burstBytes = 256 * 1024;

export class StderrLog {
  readonly #log: (line: string) => void;
  readonly #splitter = new LineSplitter(maxStderrLineBytes);
  #tokens = burstBytes;
  #at = performance.now();
  #skipped = 0;
  #skippedInAll = 0;

  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  push(chunk: Buffer): void {
    for (const line of this.#splitter.push(chunk)) this.#line(line.text, line.cut);
  }

  /** The stream ended: its unfinished line, and how many lines were left out in all. */
  end(): void {
    const last = this.#splitter.end();
    if (last !== null) this.#line(last.text, last.cut);
    this.#reportSkipped();
    if (this.#skippedInAll > 0) this.#log(`stderr closed; ${this.#skippedInAll} of its lines in all not logged (over ${bytesPerSecond / 1024} KiB a second)`);
  }

  #line(text: string, cut: number): void {
    const now = performance.now();
    this.#tokens = Math.min(burstBytes, this.#tokens + ((now - this.#at) / 1000) * bytesPerSecond);
    this.#at = now;
    const cost = text.length + 1;
    if (this.#tokens < cost) {
      this.#skipped++;
      this.#skippedInAll++;
      return;
    }
    this.#tokens -= cost;
    this.#reportSkipped();
    this.#log(cut === 0 ? text : `${text}… (${cut} more bytes of this line not logged)`);
  }

  #reportSkipped(): void {
    if (this.#skipped === 0) return;
    this.#log(`(${this.#skipped} stderr lines not logged: over ${bytesPerSecond / 1024} KiB a second)`);
    this.#skipped = 0;
  }
}
