#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (npm start and npm test do it).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/main/cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('portcullis: not built yet; run `npm run build` first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
// Exit explicitly: a finished command must not wait on idle handles (stdout is synchronous on Linux).
process.exit(await main(process.argv.slice(2)));
