// @modelcontextprotocol/server-everything as a real upstream (shared/reference/mcp-peers.md §2):
// its Streamable HTTP mode (stateful, SSE answers, resumable) and its legacy HTTP+SSE mode, each
// as a child process on a free port; and the command line that runs it over stdio.
import { join } from 'node:path';
import { repoRoot } from './files.js';
import { freePort } from './ports.js';
import { spawnAndWait, type SpawnedProcess } from './process.js';

/** node_modules/@modelcontextprotocol/server-everything/dist/index.js */
export function everythingEntry(): string {
  return join(repoRoot(), 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
}

export interface EverythingServer {
  /** http://127.0.0.1:<port>/mcp (streamableHttp) or http://127.0.0.1:<port>/sse (sse) */
  readonly url: string;
  readonly port: number;
  readonly process: SpawnedProcess;
  stop(): Promise<void>;
}

const readyLines = {
  streamableHttp: /MCP Streamable HTTP Server listening on port \d+/,
  sse: /Server is running on port \d+/,
} as const;

/**
 * Starts `server-everything <mode>` on a free port; ready once it prints its listening line.
 * A port taken between the probe and the listen makes the server exit: that is retried.
 */
export async function startEverything(mode: 'streamableHttp' | 'sse'): Promise<EverythingServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const proc = await spawnAndWait(process.execPath, [everythingEntry(), mode], {
        env: { PORT: String(port) },
        readyLine: readyLines[mode],
        timeoutMs: 20_000,
      });
      return {
        url: `http://127.0.0.1:${port}/${mode === 'sse' ? 'sse' : 'mcp'}`,
        port,
        process: proc,
        stop: async () => {
          await proc.stop('SIGTERM', 3000);
        },
      };
    } catch (err) {
      lastError = err;
      if (!/in use|EADDRINUSE/.test(String(err))) throw err;
    }
  }
  throw lastError;
}
