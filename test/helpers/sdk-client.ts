// An MCP SDK client over Streamable HTTP, optionally sending a bearer token on every request.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

export interface ConnectedClient {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  /** Ends the session (DELETE, when there is one) and closes the client; never throws. */
  close(): Promise<void>;
}

/**
 * Connects (initialize + initialized) to `url`. Rejects like the SDK does, e.g. a 401 throws a
 * StreamableHTTPError with `.code === 401`.
 */
/** Connects; on failure closes the client (and its transport) before rethrowing. */
export async function connectOrClose(client: Client, transport: StreamableHTTPClientTransport): Promise<void> {
  try {
    await client.connect(transport);
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
}

export async function connectClient(
  url: string,
  token?: string,
  /** `fetch`: how to reach the gateway (an https one signed by a test CA: see tls-fetch.ts) */
  opts: { readonly headers?: Readonly<Record<string, string>>; readonly fetch?: FetchLike } = {},
): Promise<ConnectedClient> {
  const headers: Record<string, string> = { ...opts.headers };
  if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers }, ...(opts.fetch === undefined ? {} : { fetch: opts.fetch }) });
  const client = new Client({ name: 'portcullis-test-client', version: '0.0.0' });
  await connectOrClose(client, transport);
  return {
    client,
    transport,
    close: async () => {
      if (transport.sessionId !== undefined) await transport.terminateSession().catch(() => {});
      await client.close().catch(() => {});
    },
  };
}
