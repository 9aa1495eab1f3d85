#!/usr/bin/env node
// Builds the native RSA verifier (native/rsa-verify) with node-gyp against the running Node's
// headers. `npm ci` runs it (the package's install script); `npm run build:native` runs it again.
// It never fails an install: where it cannot build (no C compiler, no headers) it says why and
// the gateway checks RSA signatures with node:crypto instead (src/workers/jwt/native-rsa.ts).
// PORTCULLIS_NATIVE_RSA=off skips it.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../native/rsa-verify/', import.meta.url));
const say = (line) => process.stderr.write(`portcullis: ${line}\n`);

/** npm tells its scripts where its node-gyp is; run directly, look beside the running Node. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  return candidates.find((c) => c !== undefined && c !== '' && existsSync(c));
}

function main() {
  // A build from an earlier run must not be loaded where this one says it did not build.
  rmSync(join(dir, 'build'), { recursive: true, force: true });
  if (process.env.PORTCULLIS_NATIVE_RSA === 'off') {
    say('native RSA verifier not built (PORTCULLIS_NATIVE_RSA=off): RSA signatures use node:crypto');
    return;
  }
  const gyp = nodeGyp();
  if (gyp === undefined) {
    say('native RSA verifier not built: node-gyp not found; RSA signatures use node:crypto');
    return;
  }
  const run = spawnSync(process.execPath, [gyp, 'rebuild', '--loglevel=warn'], { cwd: dir, encoding: 'utf8' });
  if (run.status === 0) {
    say('native RSA verifier built (native/rsa-verify)');
    return;
  }
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
  say(`native RSA verifier not built (${run.error?.message ?? `node-gyp exited with ${run.status}`}); RSA signatures use node:crypto (more CPU per new token):\n${output}`);
  rmSync(join(dir, 'build'), { recursive: true, force: true });
}

main();
