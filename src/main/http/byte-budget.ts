// One gateway-wide bound on the bytes held in memory on requests' behalf: request bodies being
// read, and answers held whole (to be filtered, or until they end within one turn). Per-request
// caps (`maxBufferSize`, 64 MiB per answer) bound one request; only this bounds them all, so
// that many large ones at once get 503s instead of taking the process down with them.

import { GatewayError } from '../../protocol/errors.js';

/** What one request holds against the budget. */
export interface ByteAccount {
  /** the budget's limit, for messages */
  readonly limit: number;
  /** Counts `n` more bytes held; false (nothing counted) when the budget would be exceeded. */
  take(n: number): boolean;
  /** Gives back `n` of the bytes taken (no longer held). */
  give(n: number): void;
  /** Gives back everything still counted; the account can be used again afterwards. */
  release(): void;
  /** Gives back everything and takes nothing more: the request is done, but uWS still hands
   * over the body bytes a client sends after its answer, and those must not be counted. */
  close(): void;
}

export class ByteBudget {
  readonly limit: number;
  #held = 0;
  #refused = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes counted now, over all requests. */
  get held(): number {
    return this.#held;
  }

  /** Times a request could not hold more (each answered 503 or streamed instead). */
  get refused(): number {
    return this.#refused;
  }

  account(): ByteAccount {
    let taken = 0;
    let closed = false;
    const release = (): void => {
      this.#held -= taken;
      taken = 0;
    };
    return {
      limit: this.limit,
      take: (n) => {
        if (closed) return false;
        if (this.#held + n > this.limit) {
          this.#refused++;
          return false;
        }
        this.#held += n;
        taken += n;
        return true;
      },
      give: (n) => {
        const back = Math.min(n, taken);
        taken -= back;
        this.#held -= back;
      },
      release,
      close: () => {
        closed = true;
        release();
      },
    };
  }
}

export class BufferBudgetError extends GatewayError {
  constructor(limit: number) {
    super('GW_BUFFER_BUDGET', `the gateway already holds ${limit} bytes for requests in flight (config.bufferBudgetBytes)`);
  }
}
