// Which processes turn V8's allocation-site pretenuring off: one whose HTTP upstreams go through
// the gateway's own client (pipelined or not), not one that uses undici only. Each case runs in
// a process of its own, as the setting is the process's for good.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PipeliningPolicy, UpstreamClient } from '../../../src/main/config/types.js';

const transport = fileURLToPath(new URL('../../../src/main/upstream/http-transport.js', import.meta.url));
const noPretenuring = fileURLToPath(new URL('../../../src/main/upstream/h1/no-pretenuring.js', import.meta.url));

/** Whether a process that made the pools of one target (nothing is sent) turned it off. */
/** What the child process printed: the flag's state before and after the pools were made. */
function isFlags(value: unknown): value is { before: boolean; after: boolean } {
  return typeof value === 'object' && value !== null && typeof Reflect.get(value, 'before') === 'boolean' && typeof Reflect.get(value, 'after') === 'boolean';
}

function offAfter(client: UpstreamClient, pipelining: PipeliningPolicy | null): boolean {
  const script = `
    const { HttpPools } = await import(${JSON.stringify(transport)});
    const { pretenuringOff } = await import(${JSON.stringify(noPretenuring)});
    const before = pretenuringOff();
    const pools = new HttpPools(${JSON.stringify(client)});
    pools.transport('http://127.0.0.1:9/mcp', null, ${JSON.stringify(pipelining)});
    await pools.close();
    process.stdout.write(JSON.stringify({ before, after: pretenuringOff() }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const seen: unknown = JSON.parse(r.stdout);
  assert.ok(isFlags(seen), r.stdout);
  assert.equal(seen.before, false);
  return seen.after;
}

describe('allocation-site pretenuring', () => {
  it('is turned off by a target on the own client, un-pipelined', () => {
    assert.equal(offAfter('portcullis', null), true);
  });

  it('is turned off by a pipelined target, whichever client the others use', () => {
    assert.equal(offAfter('undici', { connections: 2, depth: 8 }), true);
  });

  it('stays on where every target goes through undici', () => {
    assert.equal(offAfter('undici', null), false);
  });
});
