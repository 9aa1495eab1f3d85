// CEL rules are checked for syntax while the config loads (agentgateway compiles them at load,
// so a typo fails the load instead of silently denying at run time). Only the parse happens here;
// the workers compile and evaluate the programs.

import { parse } from '@marcbachmann/cel-js';

/** null when `expr` parses; otherwise the first line of the parser's message. */
export function celSyntaxError(expr: string): string | null {
  try {
    parse(expr);
    return null;
  } catch (err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    return message.split('\n', 1)[0] ?? message;
  }
}
