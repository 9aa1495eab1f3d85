// `config.logging`'s `level`, `filter` and `fields` (agentgateway's keys): the access log's filter
// and its added fields are CEL, checked here in the environment they run in (cel-check.ts), so a
// typo fails the load instead of every request's line.

import { celLogProblem } from './cel-check.js';
import { isPlainObject, keyPath, type MapReader } from './schema-reader.js';
import type { LoggingSettings } from './types.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'off'];
/** `info`, or `<scope>=<level>` (scopes as the log lines name them: `request`, `proxy::gateway`) */
const DIRECTIVE = /^(?:([A-Za-z_][\w.-]*(?:::[\w.-]+)*)=)?([A-Za-z]+)$/;

function readLevel(m: MapReader): string[] {
  const raw = m.value('level');
  if (raw === undefined) return [];
  let parts: readonly string[] = [];
  if (typeof raw === 'string') parts = [raw];
  else if (Array.isArray(raw)) parts = m.stringList('level') ?? [];
  else m.issues.add(m.at('level'), 'expected a level (info, or a list such as [info, request=off])');
  const directives = parts.flatMap((p) => p.split(',')).map((d) => d.trim()).filter((d) => d !== '');
  for (const d of directives) {
    const match = DIRECTIVE.exec(d);
    if (match === null || !LEVELS.includes((match[2] ?? '').toLowerCase())) {
      m.issues.add(m.at('level'), `invalid level "${d}": expected one of ${LEVELS.join(', ')}, or <scope>=<level>`);
    }
  }
  return directives.map((d) => d.toLowerCase());
}

function checked(m: MapReader, path: string, expr: string, mustBeBool: boolean): string | null {
  const problem = celLogProblem(expr, mustBeBool);
  if (problem === null) return expr;
  m.issues.add(path, problem);
  return null;
}

export function readLogging(m: MapReader): LoggingSettings {
  const filterText = m.string('filter', { nonEmpty: true });
  const filter = filterText === undefined ? null : checked(m, m.at('filter'), filterText, true);
  const add: Array<{ name: string; expr: string }> = [];
  let remove: string[] = [];
  const fields = m.map('fields', { known: ['add', 'remove'] });
  if (fields !== undefined) {
    remove = fields.stringList('remove') ?? [];
    const addValue = fields.value('add');
    if (addValue !== undefined && !isPlainObject(addValue)) m.issues.add(fields.at('add'), 'expected a mapping of field name to CEL expression');
    else if (addValue !== undefined) {
      for (const [name, expr] of Object.entries(addValue)) {
        const path = keyPath(fields.at('add'), name);
        if (typeof expr !== 'string' || expr === '') {
          m.issues.add(path, 'expected a CEL expression string');
          continue;
        }
        const ok = checked(m, path, expr, false);
        if (ok !== null) add.push({ name, expr: ok });
      }
    }
  }
  return { filter, add, remove, level: readLevel(m) };
}
