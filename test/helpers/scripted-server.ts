// An MCP server whose timing the test controls, for channel targets (stdio, legacy HTTP+SSE).
// It offers two tools, `echo` and `secret_admin`. A tools/list with cursor `held` is held (and
// noted with the id it came under) until a `ping` arrives: then the held answers go out, the
// ping's answer after them, and last a log notification `released`. A notifications/cancelled
// is noted with the id it names, and drops that held answer, unless its cursor was `stubborn`
// (a server that ignores cancellations, as MCP lets it). Calling echo with message `stray`
// first makes it send, unasked, a tools/list-shaped response to no request and a notification
// carrying a full tools list in a `result`, then a log notification `stray sent`. A request whose
// `params._meta` holds a `traceparent` (SEP-414) is noted with it. Notes are lines on stderr
// over stdio.
import { fileURLToPath } from 'node:url';

/** The compiled stdio server (dist/test/helpers/scripted-stdio-server.js). */
export const scriptedStdioEntry = fileURLToPath(new URL('./scripted-stdio-server.js', import.meta.url));

type Message = Record<string, unknown>;

function isRecord(v: unknown): v is Message {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const tools = ['echo', 'secret_admin'].map((name) => ({ name, inputSchema: { type: 'object' } }));

function log(data: string): Message {
  return { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data } };
}

/** The server's behaviour: feed it each message the client sends. */
export function scriptedServer(send: (message: Message) => void, note: (line: string) => void): (message: unknown) => void {
  const held: unknown[] = [];
  const stubborn = new Set<unknown>();
  return (message) => {
    if (!isRecord(message)) return;
    const params = isRecord(message['params']) ? message['params'] : {};
    if (message['method'] === 'notifications/cancelled') {
      const at = stubborn.has(params['requestId']) ? -1 : held.indexOf(params['requestId']);
      if (at >= 0) held.splice(at, 1);
      note(`cancelled ${JSON.stringify(params['requestId'])}${at >= 0 ? ' (held)' : ''}`);
      return;
    }
    const meta = isRecord(params['_meta']) ? params['_meta'] : {};
    if (typeof meta['traceparent'] === 'string') note(`${String(message['method'])} _meta.traceparent ${meta['traceparent']}`);
    if (!('id' in message)) return;
    const id = message['id'];
    const answer = (result: unknown): void => send({ jsonrpc: '2.0', id, result });
    switch (message['method']) {
      case 'initialize':
        answer({ protocolVersion: params['protocolVersion'] ?? '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'scripted', version: '0.0.0' } });
        return;
      case 'tools/list':
        if (params['cursor'] !== 'held' && params['cursor'] !== 'stubborn') {
          answer({ tools });
          return;
        }
        held.push(id);
        if (params['cursor'] === 'stubborn') stubborn.add(id);
        note(`holding tools/list ${JSON.stringify(id)}`);
        return;
      case 'ping':
        for (const listId of held.splice(0)) send({ jsonrpc: '2.0', id: listId, result: { tools } });
        answer({});
        send(log('released'));
        return;
      case 'tools/call': {
        const args = isRecord(params['arguments']) ? params['arguments'] : {};
        if (params['name'] === 'echo' && args['message'] === 'stray') {
          send({ jsonrpc: '2.0', id: 'made-up', result: { tools } });
          send({ ...log('stray list'), result: { tools } });
          send(log('stray sent'));
        }
        answer({ content: [{ type: 'text', text: `${String(params['name'])}: ${String(args['message'])}` }] });
        return;
      }
      default:
        send({ jsonrpc: '2.0', id, error: { code: -32601, message: 'Method not found' } });
    }
  };
}
