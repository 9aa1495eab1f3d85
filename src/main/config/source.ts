// Where a gateway's config comes from: a file, a text, or a config already loaded. A file's
// signature is taken before each read, so a change during the read still counts as a change
// (the watcher compares against it).

import { resolve } from 'node:path';
import { loadConfigFile, loadConfigText, type LoadResult } from './load.js';
import type { GatewayConfig } from './types.js';
import { fileSignature } from './watch.js';

export interface ConfigSourceOptions {
  /** A config already loaded; otherwise one of file / text (neither: an empty config). */
  readonly config?: GatewayConfig | undefined;
  readonly file?: string | undefined;
  readonly text?: string | undefined;
  /** Where relative paths resolve: the file's, and the config's JWKS files. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export class ConfigSource {
  readonly #o: ConfigSourceOptions;
  /** the file, resolved; null without one */
  readonly path: string | null;
  #signature: string | null = null;

  constructor(o: ConfigSourceOptions) {
    this.#o = o;
    this.path = o.file === undefined ? null : resolve(o.cwd, o.file);
  }

  /** The file as named in the options (for the log). */
  get shownName(): string | null {
    return this.#o.file ?? this.path;
  }

  /** Whether there is something to read again: a file or a text (not a config object). */
  get rereadable(): boolean {
    return this.#o.file !== undefined || this.#o.text !== undefined;
  }

  /** fileSignature() of the file when last read (null: no file, or it could not be read). */
  get signature(): string | null {
    return this.#signature;
  }

  load(): LoadResult {
    const { cwd, env } = this.#o;
    if (this.path !== null) this.#signature = fileSignature(this.path);
    if (this.#o.config !== undefined) return { ok: true, config: this.#o.config };
    if (this.path !== null) return loadConfigFile(this.path, { cwd, env });
    return loadConfigText(this.#o.text ?? '{}', { cwd, env });
  }
}
