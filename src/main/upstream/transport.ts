// What carries a request to an upstream MCP server: Streamable HTTP (undici), or a message
// channel (a stdio process, a legacy HTTP+SSE server). Relay and fan-out code see only this.

import type { ParsedMessage } from '../../protocol/jsonrpc.js';
import type { AnswerHandler } from './answer.js';

export interface TransportRequest {
  readonly method: 'POST' | 'GET' | 'DELETE';
  /** the upstream session the request belongs to, if any */
  readonly sessionId: string | undefined;
  /** request header fields to send, every policy of the target applied (HTTP transports send
   * them with every request; a legacy SSE channel when it connects) */
  readonly headers: Readonly<Record<string, string>>;
  /** query parameters a credential replaces (value) or removes (null) in the target's URL */
  readonly query: readonly QueryEdit[];
  readonly body: Buffer | null;
  /** what `body` is: a channel needs the request id, and whether it opens a session */
  readonly message: ParsedMessage | null;
  /** who opens a channel session (sessionOwner), for its per-caller session limit */
  readonly owner: () => string;
}

export interface QueryEdit {
  readonly name: string;
  readonly value: string | null;
}

export interface Transport {
  /** What one caller's limits are counted against: one pool of connections, or one program. */
  readonly key: string;
  /** Sends the request; its answer, or the failure, goes to `answer`. Never throws. */
  send(req: TransportRequest, answer: AnswerHandler): void;
}
