// Temporary directories and the repository root, for tests that write files or spawn our binaries.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What tempDir needs from a node:test TestContext (`t`) to clean up after the test. */
export interface CleanupHost {
  after(fn: () => Promise<void>): void;
}

/**
 * A fresh directory under os.tmpdir(). Pass the test context to have it removed when the test
 * ends; otherwise remove it yourself (`rm(dir, { recursive: true, force: true })`).
 */
export async function tempDir(t?: CleanupHost, prefix = 'portcullis-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t?.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The checkout's root: the nearest folder above this file with a package.json (works from dist/test/helpers and test/helpers). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json above test/helpers');
    dir = parent;
  }
  return dir;
}
