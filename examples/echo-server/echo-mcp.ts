// The MCP surface of the example upstream: what the lab's `uv run main.py` offers, plus a few
// more kinds of item so gateway tests can filter tools, prompts and resources alike.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { registerWhoami, type TokenCheck } from './whoami.js';

export const ECHO_SERVER_INFO = { name: 'echo-server', version: '0.1.0' } as const;

/** `whoami` is offered only when asked for (the lab's first steps list exactly echo and add). */
export interface WhoamiTool {
  readonly check: TokenCheck;
  readonly jwksUrl: string | null;
}

/** A fresh server; Streamable HTTP needs one per session (stateful) or per request (stateless). */
export function createEchoMcpServer(whoami: WhoamiTool | null = null): McpServer {
  const server = new McpServer(ECHO_SERVER_INFO);

  server.registerTool(
    'echo',
    { description: 'Echo a message back', inputSchema: { message: z.string() } },
    ({ message }) => ({ content: [{ type: 'text', text: `Echo: ${message}` }] }),
  );

  server.registerTool(
    'add',
    { description: 'Add two numbers', inputSchema: { a: z.number(), b: z.number() } },
    ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  );

  if (whoami !== null) registerWhoami(server, whoami.check, whoami.jwksUrl);

  server.registerPrompt(
    'greeting',
    { description: 'Greet someone by name', argsSchema: { name: z.string() } },
    ({ name }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Please greet ${name} warmly.` } }],
    }),
  );

  server.registerResource(
    'server-info',
    'info://server',
    { description: 'About this server', mimeType: 'text/plain' },
    (uri) => ({
      contents: [
        { uri: uri.href, mimeType: 'text/plain', text: `${ECHO_SERVER_INFO.name} ${ECHO_SERVER_INFO.version}` },
      ],
    }),
  );

  return server;
}
