// The gateway's gauges: values read when the metrics are rendered, from the live generation and
// the gateway-wide counts.

import type { Generation } from '../generation.js';
import type { ByteBudget } from '../http/byte-budget.js';
import type { Metrics } from './metrics.js';

export interface GaugeSources {
  readonly current: () => Generation;
  readonly inflight: { readonly count: number };
  readonly buffers: ByteBudget;
}

export function registerGatewayGauges(metrics: Metrics, s: GaugeSources): void {
  metrics.gauge('portcullis_inflight_requests', 'Requests being served', () => s.inflight.count);
  metrics.gauge('portcullis_worker_queue', 'Tasks waiting for a worker thread', () => s.current().engine.queueSize());
  metrics.gauge('portcullis_token_cache_entries', 'Verified tokens held (every route, current config)', () => {
    let n = 0;
    for (const a of s.current().authenticators.values()) n += a.cache.size;
    return n;
  });
  metrics.gauge('portcullis_buffer_budget_bytes', 'config.bufferBudgetBytes: the most bytes portcullis_buffered_bytes may reach', () => s.buffers.limit);
  metrics.gauge('portcullis_buffered_bytes', 'Bytes held for requests in flight: bodies, answers held whole (config.bufferBudgetBytes bounds them)', () => s.buffers.held);
  metrics.counterOf('portcullis_buffer_budget_refusals_total', 'Requests refused (503) or answers relayed unheld because config.bufferBudgetBytes was reached', () => s.buffers.refused);
  metrics.gauge('portcullis_rate_limit_keys', 'Buckets localRateLimit keeps (one per key of a keyed spec; bounded per spec)', () => {
    let n = 0;
    for (const l of s.current().limiters.values()) n += l.keys;
    return n;
  });
  metrics.gauge('portcullis_list_cache_chars', 'Characters and UTF-8 bytes of the filtered list results held (config.listCacheBytes bounds them)', () => s.current().engine.listCacheChars());
}
