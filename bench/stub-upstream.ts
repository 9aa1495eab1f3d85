// A fast, stateless stub MCP upstream on uWebSockets.js (native binary only) for the bench.
//
// POST any path: the JSON-RPC method is read with a string scan (no JSON.parse), the `id` is
// copied into a pre-built answer, and the answer is sent in one corked write.
//   tools/call         → a fixed echo result
//   tools/list         → 20 tools (≈ 8.6 KB); 200 tools with `x-bench-tools: 200` or a path containing `/t200`
//   initialize, ping   → fixed results;  notifications/* → 202;  anything else → -32601
// Answers are application/json, or text/event-stream (one `event: message` event) with
// `x-bench-sse: 1` or a path ending in `/sse`. No session is needed or issued; GET and DELETE get 405.
//
// Run alone: node dist/bench/stub-upstream.js [--port 0] [--host 127.0.0.1]
// It prints `stub listening on <port>` when ready and stops on SIGTERM/SIGINT.

import { pathToFileURL } from 'node:url';
import type * as Uws from 'uWebSockets.js';
import { CALL_RESULT, INITIALIZE_RESULT, toolsListResult } from './fixtures.js';
import { loadNativeUws } from './uws-native.js';

/** A JSON-RPC answer with the request id spliced in, cached per id (the bench sends few ids). */
class Answer {
  readonly #head: string;
  readonly #tail: string;
  readonly #cache = new Map<string, Buffer>();

  constructor(result: string, sse: boolean) {
    this.#head = `${sse ? 'event: message\ndata: ' : ''}{"jsonrpc":"2.0","id":`;
    this.#tail = `,"result":${result}}${sse ? '\n\n' : ''}`;
  }

  bytes(id: string): Buffer {
    let b = this.#cache.get(id);
    if (b === undefined) {
      if (this.#cache.size >= 1024) this.#cache.clear();
      b = Buffer.from(`${this.#head}${id}${this.#tail}`);
      this.#cache.set(id, b);
    }
    return b;
  }
}

interface AnswerPair {
  readonly json: Answer;
  readonly sse: Answer;
}

function pair(result: string): AnswerPair {
  return { json: new Answer(result, false), sse: new Answer(result, true) };
}

const answers = {
  call: pair(CALL_RESULT),
  list20: pair(toolsListResult(20)),
  list200: pair(toolsListResult(200)),
  initialize: pair(INITIALIZE_RESULT),
  ping: pair('{}'),
} as const;

/** The string value of `"key": "…"` in a JSON text, found by scanning (no escapes expected). */
function stringMember(text: string, key: string): string | null {
  const at = text.indexOf(`"${key}"`);
  if (at < 0) return null;
  const open = text.indexOf('"', text.indexOf(':', at + key.length + 2) + 1);
  if (open < 0) return null;
  const close = text.indexOf('"', open + 1);
  return close < 0 ? null : text.slice(open + 1, close);
}

/** The raw JSON token of `"id": …` (a number or a quoted string), or null when absent. */
function idToken(text: string): string | null {
  const at = text.indexOf('"id"');
  if (at < 0) return null;
  let i = text.indexOf(':', at + 4) + 1;
  if (i <= 0) return null;
  while (text.charCodeAt(i) === 32) i++;
  if (text[i] === '"') {
    const close = text.indexOf('"', i + 1);
    return close < 0 ? null : text.slice(i, close + 1);
  }
  let j = i;
  while (j < text.length && text[j] !== ',' && text[j] !== '}' && text[j] !== ' ') j++;
  return j > i ? text.slice(i, j) : null;
}

const JSON_TYPE = 'application/json';
const SSE_TYPE = 'text/event-stream';

export interface Stub {
  readonly port: number;
  close(): void;
}

export function startStub(options: { port?: number; host?: string } = {}): Promise<Stub> {
  const uws = loadNativeUws();
  const app = uws.App();

  app.post('/*', (res, req) => {
    const url = req.getUrl();
    const sse = req.getHeader('x-bench-sse') === '1' || url.endsWith('/sse');
    const many = req.getHeader('x-bench-tools') === '200' || url.includes('/t200');
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    let body: Buffer | null = null;
    res.onData((chunk, isLast) => {
      // uWS neuters the chunk after the callback: copy unless it is the only one.
      const piece = Buffer.from(chunk);
      body = body === null ? (isLast ? piece : Buffer.from(piece)) : Buffer.concat([body, piece]);
      if (!isLast || aborted) return;
      const text = body.toString('latin1');
      const method = stringMember(text, 'method') ?? '';
      const id = idToken(text);
      let answer: AnswerPair | null = null;
      if (method === 'tools/call') answer = answers.call;
      else if (method === 'tools/list') answer = many ? answers.list200 : answers.list20;
      else if (method === 'initialize') answer = answers.initialize;
      else if (method === 'ping') answer = answers.ping;
      res.cork(() => {
        if (id === null) {
          res.writeStatus('202 Accepted').end();
        } else if (answer === null) {
          res.writeStatus('200 OK').writeHeader('content-type', JSON_TYPE);
          res.end(`{"jsonrpc":"2.0","id":${id},"error":{"code":-32601,"message":"Method not found"}}`);
        } else {
          res.writeStatus('200 OK').writeHeader('content-type', sse ? SSE_TYPE : JSON_TYPE);
          res.end(sse ? answer.sse.bytes(id) : answer.json.bytes(id));
        }
      });
    });
  });
  app.any('/*', (res) => {
    res.cork(() => res.writeStatus('405 Method Not Allowed').writeHeader('allow', 'POST').end());
  });

  return new Promise((resolve, reject) => {
    const done = (socket: Uws.us_listen_socket | false): void => {
      if (socket === false) {
        reject(new Error(`stub: could not listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 0}`));
        return;
      }
      resolve({
        port: uws.us_socket_local_port(socket),
        close: () => uws.us_listen_socket_close(socket),
      });
    };
    app.listen(options.host ?? '127.0.0.1', options.port ?? 0, done);
  });
}

function argValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const port = Number(argValue(process.argv, '--port') ?? '0');
  const host = argValue(process.argv, '--host') ?? '127.0.0.1';
  const stub = await startStub({ port, host });
  process.stdout.write(`stub listening on ${stub.port}\n`);
  const stop = (): void => {
    stub.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
