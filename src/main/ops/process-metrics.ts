// The process's own figures (CPU, memory, file descriptors, event-loop delay, GC) under the names
// prom-client's collectDefaultMetrics gives them, so Node.js dashboards read them as they are.
// Not collectDefaultMetrics itself: each call of it starts an event-loop delay monitor and a GC
// observer that nothing can stop, and a process may run several gateways, each starting and
// closing; here close() stops both. Everything else is read when a scrape asks.

import { readFileSync, readdirSync } from 'node:fs';
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';
import { HistogramFamily } from './metric-families.js';

export interface ProcessMetrics {
  close(): void;
}

const gcBuckets: readonly number[] = [0.001, 0.01, 0.1, 1, 2, 5];

const gcKinds: ReadonlyMap<number, string> = new Map([
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

function gcKind(entry: object): string {
  const detail = 'detail' in entry ? entry.detail : undefined;
  const kind = typeof detail === 'object' && detail !== null && 'kind' in detail ? detail.kind : undefined;
  return (typeof kind === 'number' ? gcKinds.get(kind) : undefined) ?? 'other';
}

function gauge(registry: Registry, name: string, help: string, read: () => number | null, labels: Readonly<Record<string, string>> = {}): void {
  new Gauge({
    name,
    help,
    labelNames: Object.keys(labels),
    registers: [registry],
    collect() {
      const v = read();
      if (v !== null) this.set(labels, v);
    },
  });
}

/** A gauge another one's collect sets: registered after that one (see register below). */
function plainGauge(name: string, help: string): Gauge {
  return new Gauge({ name, help, registers: [] });
}

/** A count the process keeps (it only grows), read at each scrape. */
function counter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** Open descriptors (Linux: /proc/self/fd holds one more, the directory being read). */
function openFds(): number | null {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return null;
  }
}

function maxFds(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/** CPU, start time, memory, descriptors, version: read when a scrape asks. */
function registerResources(registry: Registry): void {
  counter(registry, 'process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', () => process.cpuUsage().user / 1e6);
  counter(registry, 'process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', () => process.cpuUsage().system / 1e6);
  counter(registry, 'process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
  const startTime = Math.round(Date.now() / 1000 - process.uptime());
  gauge(registry, 'process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => startTime);
  gauge(registry, 'process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
  // One read sets the three. A scrape reads metrics in the order they were registered, each
  // after its own collect: the one that collects goes first.
  const heapUsed = plainGauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.');
  const external = plainGauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.');
  new Gauge({
    name: 'nodejs_heap_size_total_bytes',
    help: 'Process heap size from Node.js in bytes.',
    registers: [registry],
    collect() {
      const m = process.memoryUsage();
      this.set(m.heapTotal);
      heapUsed.set(m.heapUsed);
      external.set(m.external);
    },
  });
  registry.registerMetric(heapUsed);
  registry.registerMetric(external);
  if (process.platform === 'linux') {
    gauge(registry, 'process_open_fds', 'Number of open file descriptors.', openFds);
    const max = maxFds();
    gauge(registry, 'process_max_fds', 'Maximum number of open file descriptors.', () => max);
  }
  const [major = '', minor = '', patch = ''] = process.versions.node.split('.');
  gauge(registry, 'nodejs_version_info', 'Node.js version info.', () => 1, { version: process.version, major, minor, patch });
}

/** Delay of the event loop: what one scrape waits for its turn, and the distribution since the
 * last scrape, sampled every 10 ms. Returns what stops the sampling. */
function registerEventLoopDelay(registry: Registry): () => void {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds.',
    registers: [registry],
    async collect() {
      const start = process.hrtime.bigint();
      await new Promise<void>((done) => setImmediate(done));
      this.set(Number(process.hrtime.bigint() - start) / 1e9);
    },
  });
  const stats: ReadonlyArray<readonly [string, string, () => number]> = [
    ['max', 'The maximum recorded event loop delay.', () => delay.max],
    ['mean', 'The mean of the recorded event loop delays.', () => delay.mean],
    ['stddev', 'The standard deviation of the recorded event loop delays.', () => delay.stddev],
    ['p50', 'The 50th percentile of the recorded event loop delays.', () => delay.percentile(50)],
    ['p90', 'The 90th percentile of the recorded event loop delays.', () => delay.percentile(90)],
    ['p99', 'The 99th percentile of the recorded event loop delays.', () => delay.percentile(99)],
  ];
  const others = stats.map(([stat, help, value]) => [plainGauge(`nodejs_eventloop_lag_${stat}_seconds`, help), value] as const);
  // All seven from one window, read by the one registered first; then the window restarts.
  new Gauge({
    name: 'nodejs_eventloop_lag_min_seconds',
    help: 'The minimum recorded event loop delay.',
    registers: [registry],
    collect() {
      // An empty window (no sample yet) reads as min 2^63 ns: nothing was measured, 0.
      const empty = delay.count === 0;
      const seconds = (ns: number): number => (empty || !Number.isFinite(ns) ? 0 : ns / 1e9);
      this.set(seconds(delay.min));
      for (const [g, value] of others) g.set(seconds(value()));
      delay.reset();
    },
  });
  for (const [g] of others) registry.registerMetric(g);
  return () => delay.disable();
}

/** Time spent in GC, by kind. Returns what stops the observer. */
function registerGcDurations(registry: Registry): () => void {
  const gc = new HistogramFamily(registry, 'nodejs_gc_duration_seconds', 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.', ['kind'], gcBuckets);
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gc.observe({ kind: gcKind(entry) }, entry.duration / 1000);
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

export function registerProcessMetrics(registry: Registry): ProcessMetrics {
  registerResources(registry);
  const stops = [registerEventLoopDelay(registry), registerGcDurations(registry)];
  return {
    close: () => {
      for (const stop of stops) stop();
    },
  };
}
