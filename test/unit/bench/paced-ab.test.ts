// ab.js --paced: A/B at a fixed offered rate. A round's measurement is the open-loop generator's
// (latencies from when each request was due, p99.9 included), and with a fresh token per request
// the walk through the token file goes on after every token sent, so no token reaches a target
// twice (its verified-token cache would answer it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from 'undici';
import { parseAbArgs } from '../../../bench/ab-options.js';
import { histogramOf, histogramPercentile, mergeHistograms } from '../../../bench/latency-histogram.js';
import { LEAD_IN_SECONDS, measureTarget, pooledPercentile, roundsTable, type Figures, type GroupResult, type Round, type RoundSettings } from '../../../bench/rounds.js';
import { S } from '../../../bench/scenarios.js';
import type { Env } from '../../../bench/setup.js';
import { startStub } from '../../helpers/stub-upstream.js';

test('--paced sets the offered rate; without it the load is wrk; a rate out of range is refused', () => {
  const base = ['--a', '/tmp/a', '--b', '/tmp/b'];
  assert.equal(parseAbArgs(base).paced, null);
  assert.equal(parseAbArgs([...base, '--paced', '5000']).paced, 5000);
  assert.throws(() => parseAbArgs([...base, '--paced', '50']), /--paced must be 100\.\.1000000/);
  assert.throws(() => parseAbArgs([...base, '--paced', 'fast']), /--paced must be/);
});

function envFor(t: test.TestContext, tokens: number): Env {
  const dir = mkdtempSync(join(tmpdir(), 'paced-ab-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokensFile = join(dir, 'tokens.txt');
  writeFileSync(tokensFile, `${Array.from({ length: tokens }, (_, i) => `token-${i}`).join('\n')}\n`);
  const client = new Agent();
  t.after(() => client.close());
  return {
    dir,
    jwksFile: join(dir, 'jwks.json'),
    tokensFile,
    tokenCount: tokens,
    token: 'token-0',
    firstFreshToken: 'token-0',
    nproc: 1,
    cpus: null,
    stubPort: 0,
    stubPid: process.pid,
    tokenEndpointPort: 0,
    otlpSinkPort: 0,
    walks: new Map(),
    tls: { cert: '', key: '', client },
  };
}

test('a paced measurement: a lead-in first, then every request due is sent, p99.9 is reported, and the fresh-token walk goes on after the tokens sent', async (t) => {
  const seen: string[] = [];
  const upstream = await startStub(t, (req, res) => {
    seen.push(String(req.headers.authorization));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' }).end('{}');
  });
  const env = envFor(t, 1000);
  const settings: RoundSettings = { rounds: 1, extraRounds: 0, seconds: 1, warmupSeconds: 1, maxOtherCores: 1, connections: 4, loadCpu: null, pacedRate: 200 };
  const target = { name: 'A', url: upstream.url, pids: [process.pid], rules: null };
  const first = await measureTarget(env, S.fresh, target, 1, settings, 'paced-1');
  const second = await measureTarget(env, S.fresh, target, 1, settings, 'paced-2');
  for (const m of [first, second]) {
    assert.equal(m.load.sent, 200);
    assert.equal(m.load.requests, 200);
    assert.equal(typeof m.load.p999Ms, 'number');
    assert.equal(m.load.histogram?.reduce((sum, [, n]) => sum + n, 0), 200, 'every latency in the histogram');
  }
  // each measurement follows LEAD_IN_SECONDS of the same load, unmeasured but on the same walk
  const lead = 200 * LEAD_IN_SECONDS;
  const total = 2 * (lead + 200);
  assert.equal(seen.length, total);
  assert.equal(new Set(seen).size, total, 'no token sent twice');
  // token 0 is the one the answer check sends; the walks start at 1 and go on without a gap
  assert.deepEqual([seen.includes('Bearer token-1'), seen.includes(`Bearer token-${total}`), seen.includes(`Bearer token-${total + 1}`)], [true, true, false]);
  assert.equal(env.walks.get('A'), total + 1);
});

test("a paced group's rounds table gives each target's p50 / p99 / p99.9 at the offered rate", () => {
  const f = (p99Ms: number): Figures => ({ rps: 1000, cpuUs: 40, boxUs: 40, p50Ms: 1, p99Ms, p999Ms: p99Ms * 2, histogram: null, otherCores: 0, non2xx: 0, socketErrors: 0, rssMB: 0 });
  const g: GroupResult = {
    id: 'ab',
    scenario: S.call,
    targets: [{ name: 'direct', check: 'ok' }, { name: 'A', check: 'ok' }],
    rounds: [{ index: 0, order: ['direct', 'A'], figures: new Map([['direct', f(1.5)], ['A', f(3.25)]]), otherCores: 0, kept: true }],
    settings: { rounds: 1, extraRounds: 0, seconds: 5, warmupSeconds: 2, maxOtherCores: 0.2, connections: 64, loadCpu: 1, pacedRate: 1000 },
  };
  const text = roundsTable(g, 'direct').join('\n');
  assert.match(text, /p50 \/ p99 \/ p99\.9 ms at 1,000 req\/s offered @ CPU µs\/req/);
  assert.match(text, /\| 1\.00 \/ 3\.25 \/ 6\.50 @ 40 \|/);
});

test('latency histograms: a percentile within 2 % above the exact one, and runs pooled', () => {
  const uniform = Array.from({ length: 1000 }, (_, i) => 0.5 + i * 0.01);
  const p99 = histogramPercentile(histogramOf(uniform), 99);
  assert.ok(p99 >= 10.39 && p99 <= 10.39 * 1.02, `p99 ${p99}`);
  assert.equal(histogramPercentile([], 99), 0);
  // one run with a 50 ms stall of 20 requests in 1,000, one without: the stall is its run's p99,
  // 1 % of both runs' requests and so their pooled p99.9 but not their pooled p99
  const quiet = histogramOf(Array.from({ length: 1000 }, () => 1));
  const stalled = histogramOf([...Array.from({ length: 980 }, () => 1), ...Array.from({ length: 20 }, () => 50)]);
  assert.ok(histogramPercentile(stalled, 99) >= 50);
  const both = mergeHistograms([quiet, stalled]);
  assert.ok(histogramPercentile(both, 99) < 1.03, 'pooled p99');
  assert.ok(histogramPercentile(both, 99.9) >= 50 && histogramPercentile(both, 99.9) < 51, 'pooled p99.9');
});

test('pooled percentiles come from the kept rounds only', () => {
  const f = (latencyMs: number): Figures => ({ rps: 1000, cpuUs: 40, boxUs: 40, p50Ms: latencyMs, p99Ms: latencyMs, p999Ms: latencyMs, histogram: histogramOf(Array.from({ length: 100 }, () => latencyMs)), otherCores: 0, non2xx: 0, socketErrors: 0, rssMB: 0 });
  const round = (index: number, kept: boolean, latencyMs: number): Round => ({ index, order: ['A'], figures: new Map([['A', f(latencyMs)]]), otherCores: kept ? 0 : 1, kept });
  const g: GroupResult = {
    id: 'ab',
    scenario: S.call,
    targets: [{ name: 'A', check: 'ok' }],
    rounds: [round(0, true, 2), round(1, false, 400), round(2, true, 2)],
    settings: { rounds: 2, extraRounds: 1, seconds: 5, warmupSeconds: 2, maxOtherCores: 0.2, connections: 64, loadCpu: 1, pacedRate: 1000 },
  };
  const p = pooledPercentile(g, 'A', 99.9);
  assert.ok(p !== null && p >= 2 && p < 2.05, `pooled p99.9 ${p}`);
});
