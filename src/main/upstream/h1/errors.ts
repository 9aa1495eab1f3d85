// Failures of the HTTP/1.1 upstream client, each with a code (logs, metrics and the retry logic
// read it; the message is for people). System errors (ECONNREFUSED, ECONNRESET, TLS) are passed
// on as Node gives them.

export type H1ErrorCode =
  /** the connection ended (or the upstream closed it) before the answer was whole */
  | 'GW_UPSTREAM_CLOSED'
  /** the answer is not HTTP/1.1 as this client reads it (framing, syntax, an unasked message) */
  | 'GW_UPSTREAM_BAD_RESPONSE'
  | 'GW_UPSTREAM_HEAD_TOO_LARGE'
  | 'GW_UPSTREAM_CONNECT_TIMEOUT'
  | 'GW_UPSTREAM_HEADERS_TIMEOUT'
  | 'GW_UPSTREAM_BODY_TIMEOUT'
  /** the request cannot be written as it is (a field that could split it): nothing was sent */
  | 'GW_UPSTREAM_BAD_REQUEST'
  /** an earlier request on its pipelined connection got an event stream: it was written, but
   * its answer would wait for the stream's end (it is read and dropped) */
  | 'GW_UPSTREAM_STREAMED_AHEAD'
  /** the client is closed (the gateway is stopping) */
  | 'GW_UPSTREAM_CLIENT_CLOSED';

export class H1Error extends Error {
  readonly code: H1ErrorCode;

  constructor(code: H1ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'H1Error';
  }
}

export function badResponse(reason: string): H1Error {
  return new H1Error('GW_UPSTREAM_BAD_RESPONSE', `invalid HTTP/1.1 answer: ${reason}`);
}

export function closedEarly(what: string): H1Error {
  return new H1Error('GW_UPSTREAM_CLOSED', `upstream closed the connection ${what}`);
}
