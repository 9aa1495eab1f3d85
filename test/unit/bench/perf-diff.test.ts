// bench/perf-diff.ts: `perf report -n` lines to µs per request by symbol and area, idle left out,
// a symbol listed twice (JIT code moved) counted once with both counts.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { areaOf, costsPerRequest, diffRows, parseReport } from '../../../bench/perf-diff.js';

const REPORT = `# Samples: 1K of event 'cpu-clock'
#
    50.00%           500  [.] __bn_sqrx8x_reduction
    20.00%           200  [k] tcp_sendmsg_locked
    10.00%           100  [k] pv_native_safe_halt
     5.00%            50  [.] JS:*verify file:///x/dist/src/main/policy/jwt-auth.js:17:20
     5.00%            50  [.] JS:*verify file:///x/dist/src/main/policy/jwt-auth.js:17:20
    10.00%           100  [.] Builtins_LoadIC
`;

it('reads the sample counts, summing a symbol listed twice', () => {
  const samples = parseReport(REPORT);
  assert.equal(samples.get('[.] __bn_sqrx8x_reduction'), 500);
  assert.equal(samples.get('[.] JS:*verify file:///x/dist/src/main/policy/jwt-auth.js:17:20'), 100);
  assert.equal(samples.size, 5);
});

it('shares of the busy samples times µs per request, idle left out', () => {
  const costs = costsPerRequest(parseReport(REPORT), 90);
  assert.equal(costs.get('[.] __bn_sqrx8x_reduction'), 50);
  assert.equal(costs.get('[k] tcp_sendmsg_locked'), 20);
  assert.equal(costs.has('[k] pv_native_safe_halt'), false);
});

it('areas by symbol name, and differences largest first', () => {
  assert.equal(areaOf('[.] __bn_sqrx8x_reduction'), 'OpenSSL bignum math');
  assert.equal(areaOf('[k] tcp_sendmsg_locked'), 'kernel');
  assert.equal(areaOf('[.] JS:*verify file:///x/dist/src/main/policy/jwt-auth.js:17:20'), 'JavaScript: Portcullis');
  assert.equal(areaOf('[.] Builtins_LoadIC'), 'V8 builtins');
  const rows = diffRows(new Map([['x', 5], ['y', 1]]), new Map([['x', 1], ['z', 2]]));
  assert.deepEqual(rows.map((r) => r.name), ['x', 'y', 'z']);
});
