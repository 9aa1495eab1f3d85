// agentgateway's `FileOrInline` for secrets: a string (`$ENV` works through the whole-file
// expansion) or `{file: <path>}` relative to the process cwd. The value is trimmed, as
// agentgateway's `load_secret`. Files are read now, so a reload (which loads the config again)
// picks up a rotated secret file.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isPlainObject, type MapReader } from './schema-reader.js';
import type { SecretValue } from './types.js';
import { errorText } from '../../protocol/errors.js';

/** Larger than any key, certificate chain or client secret; a path to a wrong file is caught. */
const MAX_SECRET_BYTES = 1024 * 1024;

/** `m[key]` as a secret; an issue (and undefined) when it is missing, empty or unreadable. */
export function readSecret(m: MapReader, key: string, cwd: string, required = true): SecretValue | undefined {
  const value = m.value(key, required);
  if (value === undefined) return undefined;
  const path = m.at(key);
  if (typeof value === 'string') return nonEmpty(m, path, { secret: value.trim(), file: null });
  if (!isPlainObject(value)) {
    m.issues.add(path, 'expected a string or {file: <path>}');
    return undefined;
  }
  const f = m.map(key, { known: ['file'] });
  const file = f?.string('file', { required: true, nonEmpty: true });
  if (f === undefined || file === undefined) return undefined;
  const abs = resolve(cwd, file);
  let text: string;
  try {
    const bytes = readFileSync(abs);
    if (bytes.length > MAX_SECRET_BYTES) {
      m.issues.add(f.at('file'), `${abs} is larger than ${MAX_SECRET_BYTES} bytes`);
      return undefined;
    }
    text = bytes.toString('utf8');
  } catch (err: unknown) {
    // The system message names the path and the cause (ENOENT, EACCES, EISDIR), never content.
    m.issues.add(f.at('file'), `could not read the file: ${errorText(err)}`);
    return undefined;
  }
  return nonEmpty(m, path, { secret: text.trim(), file: abs });
}

function nonEmpty(m: MapReader, path: string, value: SecretValue): SecretValue | undefined {
  if (value.secret !== '') return value;
  m.issues.add(path, value.file === null ? 'expected a non-empty value' : `${value.file} is empty`);
  return undefined;
}
