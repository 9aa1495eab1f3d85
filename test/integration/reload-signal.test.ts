// SIGHUP through the real CLI: a daemon reloads on it, never exits. With `-f`, the file is read
// again as a change of it would be (the test edits the file behind a symlink, where the directory
// watch sees nothing, so only the signal can apply it); with `-c` there is no file to read again,
// which is logged. The process keeps serving either way.
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, tempDir } from '../helpers/files.js';
import { initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { spawnAndWait, type SpawnedProcess } from '../helpers/process.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { singleRouteYaml } from '../helpers/route-yaml.js';
import type { CleanupHost } from '../helpers/files.js';

const PORTCULLIS = join(repoRoot(), 'bin', 'portcullis.js');
const OPS_OFF = { ADMIN_ADDR: '', STATS_ADDR: '', READINESS_ADDR: '' };

async function gateway(t: CleanupHost, cwd: string, args: readonly string[]): Promise<{ proc: SpawnedProcess; url: string }> {
  const proc = await spawnAndWait(process.execPath, [PORTCULLIS, ...args], { cwd, env: OPS_OFF, readyLine: /started bind .*port=\d+/ });
  t.after(async () => {
    await proc.stop('SIGKILL');
  });
  const port = /port=(\d+)/.exec(await proc.waitFor(/started bind/))?.[1];
  return { proc, url: `http://127.0.0.1:${port ?? 0}/mcp` };
}

/** Sends SIGHUP; returns the index of the first line written after it. */
function hangUp(proc: SpawnedProcess): number {
  const from = proc.lines().length;
  proc.child.kill('SIGHUP');
  return from;
}

test('-f: SIGHUP reloads the file and the process keeps serving; a bad file keeps the running config', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const dir = await tempDir(t);
  // config.yaml → data/real.yaml: writing real.yaml is no event in the watched directory.
  await mkdir(join(dir, 'data'));
  const real = join(dir, 'data', 'real.yaml');
  const allowing = (rule: string): string => singleRouteYaml(up.url, { authorization: { rules: [rule] } });
  await writeFile(real, allowing('false'));
  await symlink(real, join(dir, 'config.yaml'));
  const { proc, url } = await gateway(t, dir, ['-f', 'config.yaml']);
  await proc.waitFor(/Watching config file/);
  const status = async (): Promise<number> => (await mcpFetch(url, initializeRequest())).status;
  assert.equal(await status(), 403);

  await writeFile(real, allowing('true'));
  assert.equal(await status(), 403, 'the watcher did not see the edit');
  let from = hangUp(proc);
  assert.match(await proc.waitFor(/received SIGHUP/, { fromLine: from }), /received SIGHUP, reloading config\.yaml/);
  assert.match(await proc.waitFor(/Config reloaded successfully|Failed to reload config/, { fromLine: from }), /Config reloaded successfully/);
  assert.equal(await status(), 200);

  await writeFile(real, 'binds: [');
  from = hangUp(proc);
  assert.match(await proc.waitFor(/Failed to reload config/, { fromLine: from }), /Failed to reload config/);
  assert.equal(await status(), 200, 'still the config that was running');
  assert.equal(proc.child.exitCode, null);
  assert.equal(proc.child.signalCode, null);
});

test('-c: SIGHUP has nothing to reload, says so, and the process keeps serving', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const dir = await tempDir(t);
  const { proc, url } = await gateway(t, dir, ['-c', singleRouteYaml(up.url, {})]);
  for (let i = 0; i < 2; i++) {
    assert.match(await proc.waitFor(/received SIGHUP/, { fromLine: hangUp(proc) }), /received SIGHUP: the config was given inline \(-c\), nothing to reload/);
    const reply = await mcpFetch(url, initializeRequest());
    assert.equal(reply.status, 200, reply.text);
  }
  assert.equal(proc.lines().some((l) => /reloaded|Failed to reload/.test(l)), false);
  assert.equal(proc.child.exitCode, null);
});
