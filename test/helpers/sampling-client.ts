// An SDK client that declares the sampling capability and answers `sampling/createMessage` with a
// fixed text, recording every HTTP exchange its transport makes (method, body, status) so a test
// can see the client's JSON-RPC response go back as its own POST.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CreateMessageRequestSchema, type CreateMessageRequest } from '@modelcontextprotocol/sdk/types.js';
import { connectOrClose } from './sdk-client.js';

export interface HttpExchange {
  readonly method: string;
  /** the request body ('' for GET/DELETE) */
  readonly body: string;
  readonly status: number;
}

export interface SamplingClient {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  /** params of each sampling/createMessage the server sent */
  readonly asked: readonly CreateMessageRequest['params'][];
  readonly exchanges: readonly HttpExchange[];
  /** POSTs whose body is a JSON-RPC response (an id and a result or error, no method) */
  responsePosts(): HttpExchange[];
  /** DELETE (when there is a session) and close; never throws */
  close(): Promise<void>;
}

export const SAMPLING_MODEL = 'test-model';

export async function connectSamplingClient(url: string, token: string, answer: string): Promise<SamplingClient> {
  const exchanges: HttpExchange[] = [];
  const recordingFetch: FetchLike = async (input, init) => {
    const res = await fetch(input, init);
    exchanges.push({ method: init?.method ?? 'GET', body: typeof init?.body === 'string' ? init.body : '', status: res.status });
    return res;
  };
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    // `connection: close`: no idle keep-alive socket outlives the gateway.
    requestInit: { headers: { Authorization: `Bearer ${token}`, connection: 'close' } },
    fetch: recordingFetch,
  });
  const client = new Client({ name: 'portcullis-sampling-client', version: '0.0.0' }, { capabilities: { sampling: {} } });
  const asked: CreateMessageRequest['params'][] = [];
  client.setRequestHandler(CreateMessageRequestSchema, (request) => {
    asked.push(request.params);
    return { model: SAMPLING_MODEL, role: 'assistant', content: { type: 'text', text: answer } };
  });
  await connectOrClose(client, transport);
  return {
    client,
    transport,
    asked,
    exchanges,
    responsePosts: () =>
      exchanges.filter((e) => {
        if (e.method !== 'POST' || e.body === '') return false;
        try {
          const v: unknown = JSON.parse(e.body);
          return typeof v === 'object' && v !== null && !('method' in v) && 'id' in v && ('result' in v || 'error' in v);
        } catch {
          return false;
        }
      }),
    close: async () => {
      if (transport.sessionId !== undefined) await transport.terminateSession().catch(() => {});
      await client.close().catch(() => {});
    },
  };
}
