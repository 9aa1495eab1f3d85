// The real MCP Inspector CLI (@modelcontextprotocol/inspector 1.0.3) as a client in tests.
// See shared/reference/mcp-peers.md §1: URL first, then flags; stdout is the result as JSON,
// stderr carries a deprecation banner; exit code 1 on any failure.
import { dirname, join } from 'node:path';
import { repoRoot } from './files.js';
import { run, type RunResult } from './process.js';

export interface InspectorOptions {
  /** adds `--header "Authorization: Bearer <token>"` */
  readonly token?: string;
  /** default 30000 */
  readonly timeoutMs?: number;
  /** added to its environment (NODE_EXTRA_CA_CERTS for an https gateway signed by a test CA) */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Runs `mcp-inspector --cli <url> --transport http ...args`, e.g.
 * `runInspector(url, ['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=hi'], { token })`.
 */
export function runInspector(url: string, args: readonly string[], opts: InspectorOptions = {}): Promise<RunResult> {
  const bin = join(repoRoot(), 'node_modules', '.bin', 'mcp-inspector');
  const auth = opts.token === undefined ? [] : ['--header', `Authorization: Bearer ${opts.token}`];
  return run(process.execPath, [bin, '--cli', url, '--transport', 'http', ...args, ...auth], {
    // The inspector starts its CLI with `node` from PATH: make that this Node.
    env: { ...opts.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` },
    timeoutMs: opts.timeoutMs ?? 30_000,
  });
}
