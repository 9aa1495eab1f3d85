// The metric families (cells read by prom-client at a scrape), the tool names rules give the
// tool-call counter, and the process metrics' background sampling, which close() stops.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { CounterFamily, HistogramFamily, overflowValue } from '../../../src/main/ops/metric-families.js';
import { Metrics } from '../../../src/main/ops/metrics.js';
import { ruleToolNames } from '../../../src/main/ops/tool-labels.js';
import { parseExposition, sampleValue } from '../../helpers/prometheus-text.js';

const rules = (...exprs: string[]) => ({ rules: exprs.map((expr, i) => ({ kind: 'allow' as const, expr, path: `r[${i}]` })) });

describe('tool names for the tool-call counter', () => {
  it('takes the literals a rule compares mcp.tool.name with, however written', () => {
    const names = ruleToolNames(rules(
      'mcp.tool.name == "echo"',
      '"add" != mcp.tool.name && jwt.sub == "alice"',
      'mcp.tool["name"] == "get" || mcp.tool.name in ["a", "b"]',
      'mcp.tool.?name == optional.of("opt")',
      'mcp.prompt.name == "not-a-tool" && mcp.tool.target == "srv"',
      'mcp.tool.name.startsWith("safe_")',
    ));
    assert.deepEqual([...names].sort(), ['a', 'add', 'b', 'echo', 'get']);
  });

  it('names nothing without rules', () => {
    assert.equal(ruleToolNames(null).size, 0);
  });
});

describe('metric families', () => {
  it('count per label set, render through prom-client, and bound their series', async () => {
    const registry = new Registry();
    const c = new CounterFamily(registry, 'test_things_total', 'things', ['route', 'status']);
    const h = new HistogramFamily(registry, 'test_seconds', 'durations', ['route'], [0.1, 1]);
    c.inc({ route: 'a', status: '200' });
    c.inc({ route: 'a', status: '200' }, 2);
    c.inc({ route: 'b', status: 'x"y\\z\nw' });
    h.observe({ route: 'a' }, 0.05);
    h.observe({ route: 'a' }, 0.5);
    h.observe({ route: 'a' }, 5);
    const families = parseExposition(await registry.metrics());
    assert.equal(sampleValue(families, 'test_things_total', { route: 'a', status: '200' }), 3);
    assert.equal(sampleValue(families, 'test_things_total', { route: 'b', status: 'x"y\\z\nw' }), 1);
    assert.deepEqual(
      families.get('test_seconds')?.samples.map((s) => [s.name, s.labels.get('le') ?? '', s.value]),
      [['test_seconds_bucket', '0.1', 1], ['test_seconds_bucket', '1', 2], ['test_seconds_bucket', '+Inf', 3], ['test_seconds_sum', '', 5.55], ['test_seconds_count', '', 3]],
    );
    for (let i = 0; i < 10_005; i++) c.inc({ route: `r${i}`, status: '200' });
    const bounded = parseExposition(await registry.metrics());
    assert.equal(bounded.get('test_things_total')?.samples.length, 10_001);
    assert.equal(sampleValue(bounded, 'test_things_total', { route: overflowValue, status: overflowValue }), 7);
    assert.equal(c.get({ route: 'r10004', status: '200' }), 0);
  });

  it('an unlabelled counter shows 0 before anything counts', async () => {
    const registry = new Registry();
    new CounterFamily(registry, 'test_errors_total', 'errors', []);
    assert.equal(sampleValue(parseExposition(await registry.metrics()), 'test_errors_total'), 0);
  });
});

describe('finished requests', () => {
  it('each count in their own series when the request before counted in another', () => {
    const m = new Metrics('test');
    m.setRoutes(new Map([['r1', { tools: new Set(['echo']), soleTarget: null }]]));
    const call = { route: 'r1', status: 200, startedAt: 0, endedAt: 1, mcpMethod: 'tools/call', mcpTarget: 't1', mcpResourceType: 'tool', mcpResourceName: 'echo', error: undefined, denied: false };
    const calls = [
      call,
      { ...call, route: 'r2' },
      { ...call, status: 500 },
      { ...call, mcpTarget: 't2' },
      { ...call, mcpMethod: 'tools/list', mcpResourceType: undefined, mcpResourceName: undefined },
      { ...call, mcpResourceName: 'add' },
      { ...call, denied: true },
      call,
    ];
    for (const c of calls) m.requestDone(c);
    assert.equal(m.requests.get({ route: 'r1', status: '200' }), 6);
    assert.equal(m.requests.get({ route: 'r2', status: '200' }), 1);
    assert.equal(m.requests.get({ route: 'r1', status: '500' }), 1);
    assert.equal(m.duration.count({}), 8);
    assert.equal(m.mcpDuration.count({ route: 'r1', target: 't1', method: 'tools/call' }), 5);
    assert.equal(m.mcpDuration.count({ route: 'r1', target: 't2', method: 'tools/call' }), 1);
    assert.equal(m.mcpDuration.count({ route: 'r1', target: 't1', method: 'tools/list' }), 1);
    assert.equal(m.mcpDuration.count({ route: 'r2', target: 't1', method: 'tools/call' }), 1);
    assert.equal(m.toolCalls.get({ route: 'r1', target: 't1', tool: 'echo', outcome: 'allowed' }), 2);
    assert.equal(m.toolCalls.get({ route: 'r1', target: 't1', tool: 'echo', outcome: 'error' }), 1);
    assert.equal(m.toolCalls.get({ route: 'r1', target: 't1', tool: 'echo', outcome: 'denied' }), 1);
    assert.equal(m.toolCalls.get({ route: 'r1', target: 't1', tool: 'other', outcome: 'allowed' }), 1);
    assert.equal(m.toolCalls.get({ route: 'r1', target: 't2', tool: 'echo', outcome: 'allowed' }), 1);
    assert.equal(m.toolCalls.get({ route: 'r2', target: 't1', tool: 'other', outcome: 'allowed' }), 1);
    m.close();
  });

  it('MCP messages count by method, an unknown method as other, however they alternate', () => {
    const m = new Metrics('test');
    for (const method of ['tools/call', 'tools/call', 'ping', 'tools/call', 'x/unknown', '__proto__', 'ping']) m.mcpRequestDone(method);
    assert.equal(m.mcpRequests.get({ method: 'tools/call' }), 3);
    assert.equal(m.mcpRequests.get({ method: 'ping' }), 2);
    assert.equal(m.mcpRequests.get({ method: 'other' }), 2);
    m.close();
  });
});

describe('process metrics', () => {
  it('close() stops the GC observer and the event-loop delay monitor', async () => {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    assert.ok(typeof gc === 'function');
    const m = new Metrics('test');
    const pause = (ms: number): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, ms));
    const gcCount = async (): Promise<number> => {
      // PerformanceObserver callbacks come after the GC, on a later turn.
      await pause(20);
      const families = parseExposition(await m.render());
      return (families.get('nodejs_gc_duration_seconds')?.samples ?? []).filter((s) => s.name.endsWith('_count')).reduce((n, s) => n + s.value, 0);
    };
    // The monitor measures between its own ticks, starting over at each scrape's reset: the
    // loop is blocked a couple of ticks after one, and read a couple after.
    const blockedLoop = async (): Promise<number | undefined> => {
      await pause(25);
      const until = performance.now() + 40;
      while (performance.now() < until);
      await pause(30);
      return sampleValue(parseExposition(await m.render()), 'nodejs_eventloop_lag_max_seconds');
    };
    m.watchProcess();
    gc();
    assert.ok((await gcCount()) >= 1, 'a GC is counted while watching');
    assert.ok(((await blockedLoop()) ?? 0) > 0.03, 'a blocked loop is seen');

    m.close();
    const counted = await gcCount(); // the delay window before close() is read and cleared too
    gc();
    assert.equal(await gcCount(), counted, 'no GC counted after close()');
    assert.equal(await blockedLoop(), 0, 'no delay sampled after close()');
  });
});
