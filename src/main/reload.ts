// Config reloads: whole or not at all. One runs at a time, each reading the file when it starts,
// so the newest file is the one that stays; calls while one waits to start share it (it will
// read what they would), and a run that a newer one superseded answers with the newer one's
// outcome. A reload that fails (bad file, a build that throws, a new bind's port taken) leaves
// the old config in force, binds and keys included. Also the file watchers that ask for them:
// the config file's, and its listeners' certificate and key files'.

import { isDeepStrictEqual } from 'node:util';
import type { Binds, OpenedBinds } from './binds.js';
import { formatIssues } from './config/load.js';
import type { ConfigSource } from './config/source.js';
import type { ConfigIssue, GatewayConfig, RuntimeSettings } from './config/types.js';
import { watchConfigFile, type ConfigWatch } from './config/watch.js';
import { FileWatches, listenerFiles } from './config/watch-files.js';
import type { Generation, Generations } from './generation.js';
import type { Logger } from './log/logger.js';
import type { Metrics } from './ops/metrics.js';
import { errorText } from '../protocol/errors.js';

export type ReloadResult = { ok: true } | { ok: false; issues: readonly ConfigIssue[] };

export interface ReloaderDeps {
  readonly source: ConfigSource;
  /** the start's `config:` block: read at start only */
  readonly runtime: RuntimeSettings;
  readonly generations: Generations;
  readonly binds: Binds;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

const closedResult: ReloadResult = { ok: false, issues: [{ path: '<gateway>', message: 'the gateway is closing' }] };

export class Reloader {
  readonly #d: ReloaderDeps;
  #asked = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #waiting: Promise<ReloadResult> | null = null;
  #newest: Promise<ReloadResult> = Promise.resolve({ ok: true });
  /** Once close() has begun, no reload applies: it would listen again on the closed binds. */
  #closing = false;
  /** A build syncs the key registry to its config; until it is installed the registry is off the
   * live config, and a reload that ends without installing one puts it back. */
  #keysOffLive = false;
  #watcher: ConfigWatch | null = null;
  #files: FileWatches | null = null;

  constructor(d: ReloaderDeps) {
    this.#d = d;
  }

  /** Never rejects. */
  reload = (): Promise<ReloadResult> => {
    if (this.#closing) return Promise.resolve(closedResult);
    if (this.#waiting !== null) return this.#waiting;
    const ticket = ++this.#asked;
    const run = this.#queue.then(() => {
      this.#waiting = null;
      return this.#apply(ticket);
    });
    this.#queue = run.catch(() => undefined);
    const result = run.then((r) => r ?? this.#newest);
    this.#waiting = result;
    this.#newest = result;
    return result;
  };

  /** The config read, with the start's `config:` block kept (agentgateway reads it once): the
   * new file's block stays out of what applies, and out of config_dump, which shows what is in
   * effect. */
  #read(): { ok: true; config: GatewayConfig } | { ok: false; issues: readonly ConfigIssue[] } {
    const { source, generations, runtime, logger } = this.#d;
    const loaded = source.rereadable ? source.load() : { ok: true as const, config: generations.config };
    if (!loaded.ok) return loaded;
    if (!isDeepStrictEqual(loaded.config.runtime, runtime)) {
      logger.warn('state_manager', 'The config: block changed; its settings are read at start only and take effect after a restart');
    }
    return { ok: true, config: { ...loaded.config, runtime } };
  }

  /** null: a newer reload was asked for while this one built; that one applies instead. */
  async #apply(ticket: number): Promise<ReloadResult | null> {
    // Queued behind a run that was in flight when close() began.
    if (this.#closing) return closedResult;
    const { generations, binds } = this.#d;
    const read = this.#read();
    if (!read.ok) return this.#failed(read.issues);
    this.#keysOffLive = true;
    let built: Generation;
    try {
      built = await generations.build(read.config, true);
    } catch (err) {
      return this.#failed([{ path: '<config>', message: `could not apply config: ${errorText(err)}` }]);
    }
    if (this.#closing) return this.#abandoned(built, null);
    if (ticket !== this.#asked) {
      // Its file is older than what the next run will read: installing it would only flap.
      generations.discard(built);
      this.#d.logger.info('state_manager', 'Config file changed again while reloading; applying the newer one');
      return null;
    }
    // New binds listen before anything is swapped, so a taken port leaves the old config whole.
    let opened: OpenedBinds;
    try {
      opened = await binds.openNew(read.config);
    } catch (err) {
      generations.discard(built);
      return this.#failed([{ path: 'binds', message: errorText(err) }]);
    }
    if (this.#closing) return this.#abandoned(built, opened);
    return this.#install(built, read.config, opened);
  }

  /** No await here: a request sees the old config or the new one, never a mix. */
  #install(built: Generation, config: GatewayConfig, opened: OpenedBinds): ReloadResult {
    this.#d.generations.install(built, config);
    this.#keysOffLive = false;
    this.#d.binds.adopt(opened, config);
    this.#d.metrics.reloads.inc({ result: 'ok' });
    this.#d.logger.info('state_manager', 'Config reloaded successfully');
    for (const failed of this.#files?.sync(listenerFiles(config)) ?? []) {
      this.#d.logger.warn('state_manager', 'cannot watch a certificate file: a change to it needs a reload', [['error', failed]]);
    }
    return { ok: true };
  }

  async #failed(issues: readonly ConfigIssue[]): Promise<ReloadResult> {
    // After close() the registry is closed: syncing it again would start new fetches and timers.
    if (this.#keysOffLive && !this.#closing) {
      this.#keysOffLive = false;
      await this.#d.generations.restoreKeys(() => this.#closing);
    }
    this.#d.metrics.reloads.inc({ result: 'error' });
    this.#d.logger.error('state_manager', `Failed to reload config: ${formatIssues([...issues]).replace(/\n/g, '; ')}`);
    return { ok: false, issues };
  }

  #abandoned(built: Generation, opened: OpenedBinds | null): ReloadResult {
    this.#d.generations.discard(built);
    if (opened !== null) this.#d.binds.drop(opened);
    this.#d.logger.info('state_manager', 'Config reload abandoned: the gateway is closing');
    return closedResult;
  }

  /** Reloads when the config file changes, or a certificate file its listeners name. Throws when
   * one cannot be watched (its directory gone since it was read, or no inotify watch left). */
  watch(): void {
    const { source, logger, generations } = this.#d;
    const asked = (what: string) => (): void => {
      logger.info('state_manager', `${what} changed, reloading...`);
      this.reload().catch((err: unknown) => logger.error('state_manager', `Failed to reload config: ${String(err)}`));
    };
    const path = source.path;
    if (path !== null) {
      try {
        this.#watcher = watchConfigFile(path, { loaded: () => source.signature, onChange: asked('Config file') });
      } catch (err) {
        throw new Error(`cannot watch the config file ${path}: ${errorText(err)}`);
      }
      logger.info('state_manager', `Watching config file: ${source.shownName ?? path}`);
    }
    // A config given as an object is never read again: its files' changes could not apply.
    if (!source.rereadable) return;
    this.#files = new FileWatches(asked('A certificate file'));
    const failed = this.#files.sync(listenerFiles(generations.config));
    if (failed.length > 0) {
      this.#watcher?.close();
      this.#files.close();
      throw new Error(`cannot watch a certificate file: ${failed.join('; ')}`);
    }
  }

  /** No reload applies from now on; one in flight gives up at its next step. */
  close(): void {
    this.#closing = true;
    this.#watcher?.close();
    this.#files?.close();
  }

  /** Settles once the reload in flight (if any) has given up. */
  idle(): Promise<unknown> {
    return this.#queue;
  }
}
