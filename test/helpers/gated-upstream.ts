// A tiny JSON-RPC MCP upstream whose next tools/list answer can be held back: a test can let a
// list reach the upstream, change something in the gateway while it is in flight, then release it.
import { RequestHolds, type HeldRequest } from './server-control.js';
import { initializeResult, isNotification, resultFor, sendJson, startStub } from './stub-upstream.js';

/** The tools every tools/list answer carries. */
export const GATED_TOOLS = ['echo', 'add', 'secret'] as const;

export type HeldList = HeldRequest;

export interface GatedUpstream {
  /** http://127.0.0.1:<port>/mcp */
  readonly url: string;
  /** Holds the next tools/list request until release(). */
  holdNextList(): HeldList;
  close(): Promise<void>;
}

export async function startGatedUpstream(): Promise<GatedUpstream> {
  const lists = new RequestHolds();
  const stub = await startStub(null, async (req, res) => {
    if (req.message === undefined || isNotification(req)) {
      res.writeHead(202).end();
      return;
    }
    let result: unknown = {};
    if (req.rpcMethod === 'initialize') {
      result = initializeResult('gated-upstream');
    } else if (req.rpcMethod === 'tools/list') {
      await lists.wait();
      result = { tools: GATED_TOOLS.map((name) => ({ name, inputSchema: { type: 'object' } })) };
    }
    sendJson(res, resultFor(req, result));
  });
  return { url: stub.url, holdNextList: () => lists.hold(), close: stub.close };
}
