// Watching the files a config names beside itself (listener certificates and keys): a change
// reloads, as a change of the config file does (each file is watched as watch.ts watches that,
// so editors' replacements and Kubernetes' symlink swaps count). Armed again after each reload
// that applies, against what that reload read: a file that already reads otherwise (changed
// between the read and now, before any watch could see it) counts as a change at once.

import { readFileSync } from 'node:fs';
import type { GatewayConfig } from './types.js';
import { fileSignature, watchConfigFile, type ConfigWatch } from './watch.js';
import { errorText } from '../../protocol/errors.js';

/** The listener certificate and key files of `cfg`, each with the text it was loaded with. */
export function listenerFiles(cfg: GatewayConfig): Map<string, string> {
  const out = new Map<string, string>();
  for (const b of cfg.binds) {
    for (const l of b.listeners) {
      for (const f of l.tls === null ? [] : [l.tls.cert, l.tls.key]) if (f.file !== null) out.set(f.file, f.secret);
    }
  }
  return out;
}

function textOf(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

export class FileWatches {
  readonly #onChange: () => void;
  readonly #watches = new Map<string, ConfigWatch>();

  constructor(onChange: () => void) {
    this.#onChange = onChange;
  }

  /** Watches exactly `files` (path → the text loaded); returns the ones that cannot be watched,
   * with why (no inotify watch left, say). */
  sync(files: ReadonlyMap<string, string>): string[] {
    const failed: string[] = [];
    let changed = false;
    for (const w of this.#watches.values()) w.close();
    this.#watches.clear();
    for (const [file, loaded] of files) {
      // Watched first, then read: a change after the read is an event of this watch.
      let seen: string | null = null;
      try {
        this.#watches.set(file, watchConfigFile(file, {
          loaded: () => seen,
          onChange: () => {
            seen = fileSignature(file);
            this.#onChange();
          },
        }));
      } catch (err) {
        failed.push(`${file}: ${errorText(err)}`);
      }
      seen = fileSignature(file);
      if (textOf(file) !== loaded) changed = true;
    }
    if (changed) this.#onChange();
    return failed;
  }

  close(): void {
    for (const w of this.#watches.values()) w.close();
    this.#watches.clear();
  }
}
