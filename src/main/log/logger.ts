// Logging belongs to the main thread. Two formats: agentgateway's text lines (the default, so
// the lab's log line reads the same) and JSON lines through pino. Both go through pino's
// SonicBoom destination, access lines in batches; text lines are formatted here because pino
// only emits JSON.
// Nothing logged here ever contains a token: callers pass reasons and claims' `sub` only. What
// clients and upstreams wrote is escaped (log-text.ts): one line stays one line.

import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogFormat, LoggingSettings } from '../config/types.js';
import { compileAccessPolicy, type AccessCelInput, type AccessEdit, type AccessValue } from './access-policy.js';
import { levelFilter, type LineLevel } from './levels.js';
import { LineBatch } from './line-batch.js';
import { escapeControls, escapeJsonLine, quoted, textField } from './log-text.js';

export type LogValue = string | number | boolean | null | undefined;
export type LogFields = ReadonlyArray<readonly [string, LogValue]>;

export interface Logger {
  info(scope: string, message: string, fields?: LogFields): void;
  warn(scope: string, message: string, fields?: LogFields): void;
  error(scope: string, message: string, fields?: LogFields): void;
  /** The access log line of one request. */
  access(line: AccessLine): void;
  flush(): void;
}

/** A request's access-log fields, as agentgateway's text (` key=value…`) or as an object, with
 * what `config.logging` removes and adds; and what its expressions read of the request. */
export interface AccessLine {
  /** when the response ended (performance.now() ms): the line's time */
  readonly endedAt: number;
  text(edit?: AccessEdit): string;
  object(edit?: AccessEdit): Record<string, AccessValue>;
  celInput(): AccessCelInput;
}

export interface LoggerOptions {
  /** `config.logging`'s level, filter and fields */
  readonly logging?: LoggingSettings;
  /** an access-log expression failed (`filter` or the added field's name) */
  readonly onCelError?: (field: string) => void;
}

export interface LogSink {
  write(line: string): void;
}

let prefixMs = 0;
let prefix = '';

/** `2025-10-17T18:00:57.855104Z`: microseconds, as agentgateway prints them. The ISO part is
 * formatted once per millisecond, not once per line: a busy gateway writes a line per request.
 * `at`: a performance.now() reading already taken. */
export function timestamp(at: number = performance.now()): string {
  const nowUs = Math.floor((performance.timeOrigin + at) * 1000);
  const ms = Math.floor(nowUs / 1000);
  if (ms !== prefixMs) {
    prefixMs = ms;
    prefix = new Date(ms).toISOString().slice(0, 23);
  }
  const micros = nowUs % 1000;
  return `${prefix}${micros < 10 ? '00' : micros < 100 ? '0' : ''}${micros}Z`;
}

/** `text`'s UTF-8 bytes. Text that is all ASCII (its UTF-8 as long as itself: every other
 * character takes 2 or more bytes) has the same bytes in Latin-1, which Node copies as they are
 * instead of encoding character by character. */
export function bytesOf(text: string): Buffer {
  return Buffer.from(text, Buffer.byteLength(text, 'utf8') === text.length ? 'latin1' : 'utf8');
}

function textFields(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  let out = '';
  for (const [k, v] of fields) {
    if (v === undefined || v === null || v === '') continue;
    // agentgateway prints values raw except `error`, which is JSON-quoted.
    out += k === 'error' ? ` ${k}=${quoted(String(v))}` : textField(k, v);
  }
  return out;
}

function objectOf(fields: LogFields | undefined): Record<string, string | number | boolean> {
  const o: Record<string, string | number | boolean> = {};
  if (fields === undefined) return o;
  for (const [k, v] of fields) if (v !== undefined && v !== null && v !== '') o[k] = v;
  return o;
}

/** What config.logging does to an access line: its edit, or null when it is not written. */
function accessEditor(options: LoggerOptions, enabled: (scope: string, level: LineLevel) => boolean): (line: AccessLine) => AccessEdit | undefined | null {
  const policy = options.logging === undefined ? null : compileAccessPolicy(options.logging, options.onCelError ?? (() => undefined));
  if (!enabled('request', 'info')) return () => null;
  return (line) => (policy === null ? undefined : policy.edit(line.celInput()));
}

export function createLogger(format: LogFormat, sink?: LogSink, options: LoggerOptions = {}): Logger {
  const enabled = levelFilter(options.logging?.level ?? []);
  const accessEdit = accessEditor(options, enabled);
  // On stdout, access lines wait in a batch (line-batch.ts); every other line goes out at once,
  // after them (the "started bind" line is what scripts and supervisors wait for). A sink (tests,
  // embedding) gets every line as it is written.
  // Buffers: a batch is encoded once here (bytesOf) rather than measured, encoded and, once
  // written, encoded again by sonic-boom's string mode.
  const stdout = sink === undefined ? pino.destination({ dest: 1, sync: false, contentMode: 'buffer' }) : null;
  const batch = stdout === null ? null : new LineBatch((chunk) => stdout.write(bytesOf(chunk)));
  const destination: DestinationStream =
    sink !== undefined ? { write: (s: string) => sink.write(s) } : { write: (s: string) => batch?.add(s) };
  const now = (): void => batch?.flush();
  const flush = (): void => {
    batch?.flush();
    try {
      stdout?.flushSync();
    } catch {
      // not ready yet (nothing written): nothing to flush
    }
  };
  if (format === 'json') {
    const logger: PinoLogger = pino(
      {
        base: null,
        messageKey: 'message',
        timestamp: () => `,"time":"${timestamp()}"`,
        formatters: { level: (label) => ({ level: label }) },
      },
      // pino's JSON escapes C0 controls; the line separators JSON allows raw are escaped here.
      { write: (s: string) => destination.write(escapeJsonLine(s)) },
    );
    return {
      info: (scope, message, fields) => {
        if (!enabled(scope, 'info')) return;
        logger.info({ scope, ...objectOf(fields) }, message);
        now();
      },
      warn: (scope, message, fields) => {
        if (!enabled(scope, 'warn')) return;
        logger.warn({ scope, ...objectOf(fields) }, message);
        now();
      },
      error: (scope, message, fields) => {
        if (!enabled(scope, 'error')) return;
        logger.error({ scope, ...objectOf(fields) }, message);
        now();
      },
      access: (line) => {
        const edit = accessEdit(line);
        if (edit !== null) logger.info({ scope: 'request', ...line.object(edit) });
      },
      flush,
    };
  }
  const line = (level: 'info' | 'warn' | 'error', scope: string, message: string, fields?: LogFields): void => {
    if (!enabled(scope, level)) return;
    destination.write(`${timestamp()}\t${level}\t${scope}\t${escapeControls(message)}${textFields(fields)}\n`);
    now();
  };
  return {
    info: (scope, message, fields) => line('info', scope, message, fields),
    warn: (scope, message, fields) => line('warn', scope, message, fields),
    error: (scope, message, fields) => line('error', scope, message, fields),
    access: (line) => {
      const edit = accessEdit(line);
      if (edit !== null) destination.write(`${timestamp(line.endedAt)}\tinfo\trequest${line.text(edit)}\n`);
    },
    flush,
  };
}
