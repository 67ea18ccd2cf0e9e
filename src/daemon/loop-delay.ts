import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * How late the event loop ran over the daemon's life: every request, timer and libvirt reply waits
 * behind whatever holds the loop, so its p99 bounds the latency the daemon adds. Reported once, when
 * the daemon stops.
 */
export class LoopDelay {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly started = performance.now();

  constructor() {
    this.histogram.enable();
  }

  /** Stops measuring and describes what was measured, e.g. for a log line. */
  finish(): string {
    this.histogram.disable();
    const ms = (ns: number) => (ns / 1e6).toFixed(1);
    const h = this.histogram;
    const seconds = ((performance.now() - this.started) / 1000).toFixed(0);
    return `event-loop delay over ${seconds} s: p50 ${ms(h.percentile(50))} ms, p99 ${ms(h.percentile(99))} ms, max ${ms(h.max)} ms`;
  }
}
