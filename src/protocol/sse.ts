// Server-Sent Events framing, enough to rewrite one event's data while passing every other
// field (`id:`, `event:`, `retry:`, comments) through unchanged.

import { GatewayError } from './errors.js';

export interface SseEvent {
  /** the raw lines of the event, without the terminating blank line */
  readonly lines: readonly string[];
  /** the joined `data:` payload, or null when the event has none */
  readonly data: string | null;
}

/** An event longer than this many characters is refused: what is filtered must be held whole,
 * and an upstream that never ends its event must not take the gateway's memory with it. */
export const maxEventChars = 64 * 1024 * 1024;

export class SseEventTooLargeError extends GatewayError {
  constructor(limit: number) {
    super('GW_SSE_EVENT_TOO_LARGE', `an event stream event is longer than ${limit} characters`);
  }
}

/** Splits a stream of text into complete events. Keeps the tail until its blank line arrives. */
export class SseSplitter {
  /** the open event's text so far, in the pieces it came in: joined only once it is complete,
   * so a long event arriving in many chunks is neither copied nor searched once per chunk */
  #pending: string[] = [];
  #pendingLength = 0;
  /** the last characters of the open event: an event end (at most 4 characters) may start there */
  #tail = '';
  readonly #limit: number;

  constructor(limit = maxEventChars) {
    this.#limit = limit;
  }

  /** Feeds a chunk; returns the events it completed. Throws SseEventTooLargeError when the
   * event still open is longer than the limit. */
  push(chunk: string): SseEvent[] {
    if (findEventEnd(this.#tail + chunk, 0) === null) {
      this.#pending.push(chunk);
      this.#pendingLength += chunk.length;
      this.#tail = (this.#tail + chunk).slice(-3);
      if (this.#pendingLength > this.#limit) throw new SseEventTooLargeError(this.#limit);
      return [];
    }
    let buffer = this.#pending.join('') + chunk;
    let from = Math.max(0, this.#pendingLength - this.#tail.length);
    const events: SseEvent[] = [];
    for (;;) {
      const end = findEventEnd(buffer, from);
      if (end === null) break;
      events.push(parseEventBlock(buffer.slice(0, end.at)));
      buffer = buffer.slice(end.at + end.length);
      from = 0;
    }
    this.#pending = buffer === '' ? [] : [buffer];
    this.#pendingLength = buffer.length;
    this.#tail = buffer.slice(-3);
    if (this.#pendingLength > this.#limit) throw new SseEventTooLargeError(this.#limit);
    return events;
  }

  /** Whatever is left when the stream ends (an unterminated event, or nothing). */
  rest(): string {
    const rest = this.#pending.join('');
    this.#pending = [];
    this.#pendingLength = 0;
    this.#tail = '';
    return rest;
  }
}

/** Two line ends in a row (an empty line ends an event), each CRLF, LF or CR, in any mix: a
 * client splits `\n\r\n` or `\r\n\n` too, so a splitter that did not would let one event hide
 * inside another's data. */
const EMPTY_LINE = /(?:\r\n|\n|\r(?!\n))(?:\r\n|\n|\r(?!\n))/g;

function findEventEnd(text: string, from: number): { at: number; length: number } | null {
  EMPTY_LINE.lastIndex = from;
  const m = EMPTY_LINE.exec(text);
  if (m === null) return null;
  const end = m.index + m[0].length;
  // A CR at the very end may be the first half of a CRLF still on its way.
  if (end === text.length && text.endsWith('\r')) return null;
  return { at: m.index, length: m[0].length };
}

export function parseEventBlock(block: string): SseEvent {
  const lines = block.split(/\r\n|\n|\r/);
  let data: string[] | null = null;
  for (const line of lines) {
    if (line === 'data' || line.startsWith('data:')) {
      const value = line.length > 5 && line[5] === ' ' ? line.slice(6) : line.slice(5);
      (data ??= []).push(value);
    }
  }
  return { lines, data: data === null ? null : data.join('\n') };
}

/** The event's text with its data replaced (other fields kept in place), blank line included. */
export function replaceEventData(event: SseEvent, data: string): string {
  const out: string[] = [];
  let written = false;
  for (const line of event.lines) {
    if (line === 'data' || line.startsWith('data:')) {
      if (!written) {
        for (const part of data.split('\n')) out.push(`data: ${part}`);
        written = true;
      }
    } else {
      out.push(line);
    }
  }
  return out.join('\n') + '\n\n';
}

/** The text of one event carrying `data`. */
export function formatEvent(data: string): string {
  return `event: message\ndata: ${data}\n\n`;
}
