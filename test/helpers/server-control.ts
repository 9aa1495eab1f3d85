// What test servers that play a misbehaving identity provider share: requests held until the
// test releases them (a slow server without sleeps), and stopping and restarting on the same
// port (a server that is down for a while).
import type { Server } from 'node:http';
import { listenLocal } from './ports.js';

export interface HeldRequest {
  /** Settles once the request has arrived. */
  readonly arrived: Promise<void>;
  /** Lets it be answered. */
  release(): void;
}

/** Requests to hold, in order: the server asks `next()` for each request it may hold. */
export class RequestHolds {
  readonly #queue: Array<{ arrive: () => void; released: Promise<void> }> = [];

  /** Holds the next request that asks. */
  hold(): HeldRequest {
    let arrive = (): void => undefined;
    let release = (): void => undefined;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.#queue.push({ arrive, released });
    return { arrived, release };
  }

  /** For a request: resolves at once when nothing is to be held, else when the test releases it. */
  async wait(): Promise<void> {
    const hold = this.#queue.shift();
    if (hold === undefined) return;
    hold.arrive();
    await hold.released;
  }
}

export interface Restartable {
  /** Stops listening and drops open connections (keep-alive sockets of the client under test). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

export function restartable(server: Server, port: number): Restartable {
  let listening = true;
  return {
    stop: async () => {
      if (!listening) return;
      listening = false;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    restart: async () => {
      if (listening) return;
      await listenLocal(server, port);
      listening = true;
    },
  };
}
