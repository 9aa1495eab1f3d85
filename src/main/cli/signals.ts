// The gateway process's signals, taken from the start: one that arrives while the gateway is still
// starting is answered as soon as it is up, instead of killing the process half-way (SIGINT,
// SIGTERM) or being lost (SIGHUP, whose default action would end the process; the file may have
// changed since it was read).

export interface SignalHandlers {
  /** SIGINT, SIGTERM, or the supervisor gone: drain and exit. */
  stop(why: string): void;
  /** SIGHUP: reload the config. */
  hangup(): void;
}

export class ProcessSignals {
  #handlers: SignalHandlers | null = null;
  #stopWhy: string | null = null;
  #hangup = false;

  /** Listens from now on. */
  constructor() {
    // Forked by --processes, a signal can come twice: from the supervisor and to the whole group
    // (Ctrl-C, systemd's KillMode=control-group); the second must not kill it half-way through its
    // drain. Run alone, a second signal keeps its default: stop at once.
    const supervised = process.send !== undefined;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = (): void => this.#stop(`received ${signal}`);
      if (supervised) process.on(signal, handler);
      else process.once(signal, handler);
    }
    process.on('SIGHUP', () => {
      if (this.#handlers === null) this.#hangup = true;
      else this.#handlers.hangup();
    });
    // Forked by --processes: the IPC channel closes when the supervisor is gone, even by SIGKILL.
    // Nothing would stop or restart this process any more, so it drains and exits too.
    if (supervised) {
      process.once('disconnect', () => this.#stop('supervisor gone'));
      if (!process.connected) this.#stop('supervisor gone');
    }
  }

  #stop(why: string): void {
    if (this.#handlers === null) this.#stopWhy ??= why;
    else this.#handlers.stop(why);
  }

  /** Signals go to `handlers` from now on, those that came while starting first. */
  serve(handlers: SignalHandlers): void {
    this.#handlers = handlers;
    if (this.#hangup) handlers.hangup();
    if (this.#stopWhy !== null) handlers.stop(this.#stopWhy);
  }
}
