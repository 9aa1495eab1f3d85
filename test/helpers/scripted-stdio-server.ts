// scripted-server.ts over stdio: one JSON-RPC message a line on stdin and stdout, notes on stderr.
import { createInterface } from 'node:readline';
import { scriptedServer } from './scripted-server.js';

const handle = scriptedServer(
  (message) => process.stdout.write(`${JSON.stringify(message)}\n`),
  (line) => process.stderr.write(`${line}\n`),
);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== '') handle(JSON.parse(line));
});
