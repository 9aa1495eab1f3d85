// Client and upstream text in a log line: a method, a tool name, a header, a path, a stdio
// server's stderr. Written raw, a CR or LF forges a line, a NUL breaks shippers that read C
// strings, an ESC sequence rewrites the terminal showing the log, and NEL and the Unicode line
// separators end a line for some readers. Such characters are escaped as JSON escapes them, so a
// quoted value is still a valid JSON string and reads back to what was sent.

/** C0 controls (TAB, CR, LF, NUL, ESC …), DEL, C1 controls (NEL among them), U+2028, U+2029. */
const unsafe = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/** What JSON.stringify leaves raw of those. */
const unsafeInJson = /[\u007f-\u009f\u2028\u2029]/g;
/** A value written unquoted must split from the next field at a space and hold nothing unsafe. */
const needsQuotes = /[\s"\u0000-\u001f\u007f-\u009f]/;

function escapeChar(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `text` on one line: the characters above escaped (`\n`, `\u001b`). */
export function escapeControls(text: string): string {
  return text.replace(unsafe, escapeChar);
}

/** A JSON-encoded log line with the characters JSON allows raw escaped too; only string
 * contents can hold them, so the line stays the same JSON. */
export function escapeJsonLine(line: string): string {
  return line.replace(unsafeInJson, escapeChar);
}

/** `text` as a JSON string literal with nothing unsafe left in it. */
export function quoted(text: string): string {
  return escapeJsonLine(JSON.stringify(text));
}

/** ` key=value` of a text line (nothing for an empty value): raw when the value is a plain word,
 * quoted otherwise, so a line always splits into its fields. */
export function textField(key: string, value: string | number | boolean): string {
  if (typeof value !== 'string') return ` ${key}=${value}`;
  if (value === '') return '';
  return needsQuotes.test(value) ? ` ${key}=${quoted(value)}` : ` ${key}=${value}`;
}
