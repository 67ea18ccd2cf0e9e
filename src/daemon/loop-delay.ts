import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** How often the loop is sampled: each sample records the time since the previous one. */
const RESOLUTION_MS = 10;

/**
 * How late the event loop ran over the daemon's life: every request, timer and libvirt reply waits
 * behind whatever holds the loop, so its p99 bounds the latency the daemon adds. Reported once, when
 * the daemon stops. The histogram keeps two significant digits up to an hour: monitorEventLoopDelay's
 * fixed one (three digits up to 2^53 ns) holds 360 KB of counters, a tenth of an idle daemon's heap.
 */
export class LoopDelay {
  private readonly histogram: RecordableHistogram = createHistogram({ lowest: 1, highest: 3.6e12, figures: 2 });
  private readonly started = performance.now();
  private readonly timer = setInterval(() => this.histogram.recordDelta(), RESOLUTION_MS).unref();

  constructor() {
    this.histogram.recordDelta();
  }

  /** Stops measuring and describes what was measured, e.g. for a log line. */
  finish(): string {
    clearInterval(this.timer);
    const ms = (ns: number) => (ns / 1e6).toFixed(1);
    const h = this.histogram;
    const seconds = ((performance.now() - this.started) / 1000).toFixed(0);
    return `event-loop delay over ${seconds} s: p50 ${ms(h.percentile(50))} ms, p99 ${ms(h.percentile(99))} ms, max ${ms(h.max)} ms`;
  }
}
