// The bench's measuring method: which rounds its figures come from (quiet ones; all, flagged, when
// none was quiet), comparisons as medians of per-round ratios, the direct stub's drift, and the
// open-loop generator behind "p99 at equal offered load", whose latencies must count from when
// each request was due, so that a stall of the proxy shows in full. And how the runner sees a
// proxy's upstream connections (to wait, after the warm-ups, until they have closed once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { connectionsTo } from '../../../bench/proc.js';
import { pacedLoad } from '../../../bench/paced-load.js';
import { drift, figureStat, quiet, ratioStat, roundOrder, usedRounds, type Figures, type GroupResult, type Round } from '../../../bench/rounds.js';
import { S } from '../../../bench/scenarios.js';
import { startStub } from '../../helpers/stub-upstream.js';

function figures(rps: number, cpuUs: number): Figures {
  return { rps, cpuUs, boxUs: cpuUs, p50Ms: 1, p99Ms: 2, p999Ms: null, histogram: null, otherCores: 0, non2xx: 0, socketErrors: 0, rssMB: 0 };
}

function round(index: number, kept: boolean, direct: number, a: number, b: number): Round {
  return {
    index,
    order: ['direct', 'A', 'B'],
    figures: new Map([['direct', figures(direct, 10)], ['A', figures(a, 50)], ['B', figures(b, 25)]]),
    otherCores: kept ? 0 : 1,
    kept,
  };
}

function group(rounds: Round[]): GroupResult {
  const settings = { rounds: 3, extraRounds: 1, seconds: 5, warmupSeconds: 2, maxOtherCores: 0.2, connections: 64, loadCpu: 1 };
  return { id: 'call', scenario: S.call, targets: [{ name: 'direct', check: 'ok' }, { name: 'A', check: 'ok' }, { name: 'B', check: 'ok' }], rounds, settings };
}

test('figures come from the kept rounds only; a dropped round does not move them', () => {
  const g = group([round(0, true, 100, 10, 20), round(1, false, 50, 1, 100), round(2, true, 100, 12, 18), round(3, true, 100, 11, 33)]);
  assert.equal(usedRounds(g).length, 3);
  assert.ok(quiet(g));
  assert.deepEqual(figureStat(g, 'A', (x) => x.rps), { median: 11, min: 10, max: 12, n: 3 });
  // medians of the per-round ratios, not the ratio of the medians (20/10, 18/12, 33/11)
  assert.deepEqual(ratioStat(g, 'B', 'A', (x) => x.rps), { median: 2, min: 1.5, max: 3, n: 3 });
});

test('with no quiet round every round is used, and the group says so', () => {
  const g = group([round(0, false, 100, 10, 20), round(1, false, 100, 20, 20)]);
  assert.equal(usedRounds(g).length, 2);
  assert.equal(quiet(g), false);
  assert.equal(figureStat(g, 'A', (x) => x.rps).median, 15);
});

test("a round's drift is the direct stub against its median over the rounds used", () => {
  const slow = round(1, true, 80, 10, 20);
  const g = group([round(0, true, 100, 10, 20), slow, round(2, true, 120, 10, 20)]);
  const d = drift(g, slow, 'direct');
  assert.ok(Math.abs(d.rps - -0.2) < 1e-9);
  assert.equal(d.cpu, 0);
});

test('paced load: a stall of the upstream shows in full in the latencies, measured from when each request was due', async () => {
  // Answers stop for 400 ms after the 60th request, then everything held is answered at once.
  let seen = 0;
  let held: ServerResponse[] | null = null;
  const answer = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' }).end('{}');
  };
  const upstream = await startStub(null, (_req, res) => {
    seen++;
    if (seen === 60) {
      held = [];
      setTimeout(() => {
        for (const r of held ?? []) answer(r);
        held = null;
      }, 400);
    }
    if (held !== null) held.push(res);
    else answer(res);
  });
  try {
    const r = await pacedLoad({ url: upstream.url, body: '{}', headers: { 'content-type': 'application/json' }, rate: 200, seconds: 1.5, connections: 4 });
    assert.equal(r.sent, 300);
    assert.equal(r.ok, 300);
    assert.equal(r.errors + r.non2xx + r.unanswered, 0);
    // ~80 of 300 requests fall due during the stall; only 4 can be in flight on 4 connections, so
    // timed from their sending, the queued ones would look fast and the 90th percentile would not move
    // and the requests outside the stall are not charged with it (a relation, not a time: on a
    // loaded machine every latency grows, the stall's lead over the rest does not go away)
    assert.ok(r.p90Ms >= 100, `p90 ${r.p90Ms} ms`);
    assert.ok(r.p50Ms * 2 < r.p90Ms, `p50 ${r.p50Ms} ms against p90 ${r.p90Ms} ms`);
  } finally {
    await upstream.close();
  }
});

test('connectionsTo counts the connections a process opened to a port, not those it accepted on it, nor closed ones', async (t) => {
  const accepted: Socket[] = [];
  const server = createServer((s) => accepted.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const clients = await Promise.all([1, 2, 3].map(async () => {
    const c = connect(address.port, '127.0.0.1');
    await once(c, 'connect');
    return c;
  }));
  assert.equal(connectionsTo([process.pid], address.port), 3);
  await Promise.all(clients.map((c) => {
    c.destroy();
    return once(c, 'close');
  }));
  for (const s of accepted) s.destroy();
  assert.equal(connectionsTo([process.pid], address.port), 0);
});

test('rounds by turns: over 2n rounds each of n targets takes every place in the order twice, and the direction alternates', () => {
  for (const n of [2, 3, 4]) {
    const targets = Array.from({ length: n }, (_, k) => k);
    const places = targets.map(() => targets.map(() => 0));
    for (let i = 0; i < 2 * n; i++) {
      const order = roundOrder(targets, i);
      assert.deepEqual([...order].sort(), targets, `round ${i} is a permutation`);
      order.forEach((t, place) => {
        const row = places[t];
        if (row !== undefined) row[place] = (row[place] ?? 0) + 1;
      });
    }
    assert.deepEqual(places, targets.map(() => targets.map(() => 2)), `n = ${n}`);
  }
  assert.deepEqual(roundOrder(['d', 'A', 'B'], 0), ['d', 'A', 'B']);
  assert.deepEqual(roundOrder(['d', 'A', 'B'], 1), ['B', 'A', 'd']);
  assert.deepEqual(roundOrder(['d', 'A', 'B'], 2), ['A', 'B', 'd']);
});
