// A message channel to an upstream that is not Streamable HTTP: a stdio process or a legacy
// HTTP+SSE server. Both carry one JSON-RPC message per unit (a line, an event).

import type { Dispatcher } from 'undici';

export interface Channel {
  /** Sends one JSON-RPC message; false when the channel is closed. */
  send(text: string): boolean;
  /** Set by the session that owns the channel. */
  onMessage: (text: string) => void;
  onClose: (reason: string) => void;
  close(): void;
  /** Closes and resolves once the process or connection is really gone. */
  closeAndWait(): Promise<void>;
  readonly closed: boolean;
}

export type ChannelSpec =
  | { readonly kind: 'stdio'; readonly cmd: string; readonly args: readonly string[]; readonly env: Readonly<Record<string, string>> }
  /** `dispatcher`: how to connect (a backendTLS policy's); the global one when absent */
  | { readonly kind: 'sse'; readonly url: URL; readonly dispatcher?: Dispatcher };
