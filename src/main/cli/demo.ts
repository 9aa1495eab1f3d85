// `portcullis demo` (what `npm start` runs): the lab, ready to try, with nothing to install.
// It starts the example echo server on :8000 as its own process (as in the lab's top pane),
// creates a signing key and ./jwks-keyset in a scratch directory, mints the lab's two tokens
// (jsmith, and an admin), and runs the gateway on :9000 with the lab's second config, verbatim.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { startGateway, type Gateway } from '../gateway.js';
import type { CliIo } from './io.js';
import { addToKeyset, createKeyPair } from './keys.js';
import { signToken } from './token.js';
import { errorText } from '../../protocol/errors.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const labConfig = join(root, 'examples', 'lab', 'ag-mcp-authorization.yaml');
const echoServer = join(root, 'dist', 'examples', 'echo-server', 'server.js');

function startEchoServer(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [echoServer, '--port', '8000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout ?? process.stdin });
    child.once('exit', (code) => reject(new Error(`the echo server exited (code ${code}); is port 8000 free?`)));
    lines.on('line', (line) => {
      if (line.includes('listening on')) resolve(child);
    });
  });
}

export async function runDemo(_argv: readonly string[], io: CliIo): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-demo-'));
  // Taken from the start, so a Ctrl+C during start-up never leaves the echo server behind.
  let signalled = false;
  let onSignal = (): void => {
    signalled = true;
  };
  process.once('SIGINT', () => onSignal());
  process.once('SIGTERM', () => onSignal());
  let echo: ChildProcess;
  try {
    echo = await startEchoServer();
  } catch (err) {
    io.stderr(`demo: ${errorText(err)}\n`);
    return 1;
  }
  const { privateJwk, publicJwk } = await createKeyPair({ alg: 'ES256' });
  writeFileSync(join(dir, 'priv-key'), JSON.stringify(privateJwk, null, 2), { mode: 0o600 });
  writeFileSync(join(dir, 'pub-key'), JSON.stringify(publicJwk, null, 2));
  await addToKeyset(join(dir, 'jwks-keyset'), publicJwk);
  const exp = Math.floor(Date.now() / 1000) + 10 * 365 * 24 * 3600;
  const common = { privateJwk, iss: 'acme@example.com', aud: 'mcp.example.com', exp };
  const jwt = await signToken({ ...common, sub: 'jsmith' });
  const adminJwt = await signToken({ ...common, sub: 'pointy-haired-boss', claims: { roles: ['admin'] } });
  writeFileSync(join(dir, 'jsmith.token'), `${jwt}\n`);
  writeFileSync(join(dir, 'boss.token'), `${adminJwt}\n`);

  let gateway: Gateway;
  try {
    gateway = await startGateway({ configFile: labConfig, cwd: dir, watch: false });
  } catch (err) {
    echo.kill();
    io.stderr(`demo: ${errorText(err)}\n`);
    return 1;
  }
  const inspector = 'npx mcp-inspector --cli http://localhost:9000/mcp --transport http';
  io.stdout(`
Portcullis demo: echo MCP server on http://localhost:8000/mcp, gateway on http://localhost:9000/mcp
config: ${labConfig} (the lab's ag-mcp-authorization.yaml)
keys and tokens: ${dir}

export JWT=${jwt}
export ADMIN_JWT=${adminJwt}

Try, from another terminal in this directory:
  ${inspector} --method tools/list                                      # 401: no bearer token
  ${inspector} --method tools/list --header "Authorization: Bearer $JWT"         # []: jsmith is no admin
  ${inspector} --method tools/list --header "Authorization: Bearer $ADMIN_JWT"   # echo
  ${inspector} --method tools/call --tool-name echo --tool-arg message=hi --header "Authorization: Bearer $ADMIN_JWT"

Ctrl+C stops everything.
`);
  const running = gateway;
  return new Promise((resolve) => {
    onSignal = () => {
      echo.kill('SIGTERM');
      running.close().then(() => resolve(0), () => resolve(1));
    };
    if (signalled) onSignal();
  });
}
