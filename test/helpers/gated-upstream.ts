// A tiny JSON-RPC MCP upstream whose next tools/list answer can be held back: a test can let a
// list reach the upstream, change something in the gateway while it is in flight, then release it.
import { createServer, type IncomingMessage } from 'node:http';

/** The tools every tools/list answer carries. */
export const GATED_TOOLS = ['echo', 'add', 'secret'] as const;

export interface HeldList {
  /** settles when the held tools/list has reached the upstream */
  readonly arrived: Promise<void>;
  /** sends its answer */
  release(): void;
}

export interface GatedUpstream {
  /** http://127.0.0.1:<port>/mcp */
  readonly url: string;
  /** Holds the next tools/list request until release(). */
  holdNextList(): HeldList;
  close(): Promise<void>;
}

interface Gate {
  arrived(): void;
  readonly released: Promise<void>;
}

export async function startGatedUpstream(): Promise<GatedUpstream> {
  let gate: Gate | null = null;
  const server = createServer((req, res) => {
    void readJson(req).then(async (msg) => {
      if (msg === null || !('id' in msg)) {
        res.writeHead(202).end();
        return;
      }
      const method = msg['method'];
      let result: unknown = {};
      if (method === 'initialize') {
        result = { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'gated-upstream', version: '0.0.0' } };
      } else if (method === 'tools/list') {
        const held = gate;
        gate = null;
        if (held !== null) {
          held.arrived();
          await held.released;
        }
        result = { tools: GATED_TOOLS.map((name) => ({ name, inputSchema: { type: 'object' } })) };
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: msg['id'], result }));
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      if (a === null || typeof a === 'string') reject(new Error('not a TCP address'));
      else resolve(a.port);
    });
  });
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    holdNextList() {
      let arrived: () => void = () => {};
      let release: () => void = () => {};
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      gate = { arrived, released };
      return { arrived: arrival, release };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v)) : null;
  } catch {
    return null;
  }
}
