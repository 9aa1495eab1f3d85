// The --processes supervisor's restart policy, and its giving up on a crash loop (exit code 1,
// a log line saying why) with a stand-in script that always fails instead of the gateway.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runProcesses } from '../../../src/main/cli/processes.js';
import { RestartBackoff } from '../../../src/main/cli/restart-backoff.js';
import { tempDir } from '../../helpers/files.js';

const policy = { initialMs: 100, maxMs: 1_000, stableMs: 30_000, maxDeaths: 7 };

test('restart delays double from the first, stop at the cap, and give up after maxDeaths in a row', () => {
  const b = new RestartBackoff(policy);
  const delays = [];
  for (let i = 0; i < 6; i++) delays.push(b.next(50));
  assert.deepEqual(delays, [100, 200, 400, 800, 1_000, 1_000].map((restartInMs) => ({ restartInMs })));
  assert.deepEqual(b.next(50), { giveUp: true });
  assert.equal(b.deathsInARow, 7);
});

test('a process that stayed up stableMs starts the count again', () => {
  const b = new RestartBackoff(policy);
  for (let i = 0; i < 5; i++) b.next(10);
  assert.deepEqual(b.next(30_000), { restartInMs: 100 });
  assert.deepEqual(b.next(10), { restartInMs: 200 });
});

test('processes that keep dying: the supervisor gives up, says why, and resolves 1', async () => {
  const dir = await tempDir();
  const bin = join(dir, 'always-fails.mjs');
  await writeFile(bin, 'process.exit(3);\n');
  const lines: string[] = [];
  const code = await runProcesses({
    count: 2,
    argv: [],
    sessionKey: null,
    log: (line) => lines.push(line),
    bin,
    backoff: { initialMs: 5, maxMs: 20, stableMs: 60_000, maxDeaths: 4 },
  });
  assert.equal(code, 1, lines.join('\n'));
  assert.match(lines.join('\n'), /process \d exited \(3\); restarting it in 5 ms/);
  assert.match(lines.join('\n'), /process \d exited \(3\); restarting it in 20 ms/);
  assert.match(lines.at(-1) ?? '', /process \d exited 4 times in a row, each soon after starting \(last: 3\); giving up/);
});
