// Watching the config file for agentgateway's reload on change. The directory is watched, not
// the file: editors replace files (a file watch would lose them), and Kubernetes ConfigMap
// volumes update by swapping a `..data` symlink, so no event names the file. Events naming the
// file always count (a `touch` reloads); any other event counts when the file now reads
// differently from the last load: another symlink target, inode, size or mtime.

import { realpathSync, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/** Where the file's symlinks lead and what it is there; null when it cannot be read. */
export function fileSignature(file: string): string | null {
  try {
    const real = realpathSync(file);
    const st = statSync(real);
    return `${real}\u0000${st.dev}:${st.ino}\u0000${st.size}\u0000${st.mtimeMs}`;
  } catch {
    return null;
  }
}

export interface ConfigWatch {
  /** Stops watching; a change waiting out its debounce is dropped. */
  close(): void;
}

export interface ConfigWatchOptions {
  /** fileSignature() of the file as last loaded */
  readonly loaded: () => string | null;
  readonly onChange: () => void;
  /** agentgateway's debouncer: 250 ms */
  readonly debounceMs?: number;
}

export function watchConfigFile(file: string, o: ConfigWatchOptions): ConfigWatch {
  let timer: NodeJS.Timeout | null = null;
  let named = false;
  let closed = false;
  const watcher = watch(dirname(file), (_event, name) => {
    if (closed) return;
    const isFile = name === basename(file);
    if (isFile) named = true;
    // An event naming the file restarts the debounce (an editor's burst of writes is one
    // change); any other event in the directory only starts a check if none is pending, so a
    // file written beside the config (a log, a pid file) cannot keep postponing its reload.
    if (timer !== null) {
      if (!isFile) return;
      clearTimeout(timer);
    }
    timer = setTimeout(() => {
      timer = null;
      const changed = named || fileSignature(file) !== o.loaded();
      named = false;
      if (changed && !closed) o.onChange();
    }, o.debounceMs ?? 250);
  });
  watcher.unref();
  return {
    close() {
      closed = true;
      watcher.close();
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
