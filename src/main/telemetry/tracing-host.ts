// A gateway's tracers: one per tracing policy in use, built when a config generation first asks
// for it (the OpenTelemetry SDK is loaded then, not before), shared by the generations that keep
// the same policy, and shut down (what has ended exported) once the live generation no longer
// uses it and its last request has ended. close() shuts every one down.

import { isDeepStrictEqual } from 'node:util';
import type { TracingConfig } from '../config/types.js';
import type { OtelTracer, TracerDeps } from './otel-tracer.js';
import type { RequestTracer } from './tracing.js';

export class TracingHost {
  readonly #deps: TracerDeps;
  /** tracers a generation may still install, with their policy */
  readonly #live = new Map<OtelTracer, TracingConfig>();
  /** retired ones still waiting for their last request */
  readonly #retiring = new Set<OtelTracer>();
  readonly #stopping = new Set<Promise<void>>();

  constructor(deps: TracerDeps) {
    this.#deps = deps;
  }

  /** The tracer for a generation whose policy is `settings` (null: tracing off). */
  async tracerFor(settings: TracingConfig | null): Promise<RequestTracer | null> {
    if (settings === null) return null;
    for (const [tracer, s] of this.#live) if (isDeepStrictEqual(s, settings)) return tracer;
    const { OtelTracer } = await import('./otel-tracer.js');
    const tracer = await OtelTracer.create(settings, this.#deps);
    this.#live.set(tracer, settings);
    return tracer;
  }

  /** The live generation now uses `tracer`: every other one (a replaced policy, or one built for
   * a generation that never went live) is retired. */
  installed(tracer: RequestTracer | null): void {
    for (const t of [...this.#live.keys()]) {
      if (t === tracer) continue;
      this.#live.delete(t);
      this.#retiring.add(t);
      this.#track(t.retire().then(() => void this.#retiring.delete(t)));
    }
  }

  /** Exports what has ended and stops every tracer, requests still open or not. */
  async close(): Promise<void> {
    for (const t of [...this.#live.keys(), ...this.#retiring]) this.#track(t.shutdown());
    this.#live.clear();
    await Promise.all(this.#stopping);
  }

  #track(stopping: Promise<void>): void {
    this.#stopping.add(stopping);
    void stopping.then(() => this.#stopping.delete(stopping));
  }
}
