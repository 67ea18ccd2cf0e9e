import type { RecordableHistogram } from 'node:perf_hooks';
import { perfHooks } from '../util/lazy-builtins.js';
import { monotonicMs } from '../util/clock.js';

/**
 * How often the loop is sampled. Each sample is how late the timer ran, which is how long a request
 * arriving at that moment would have waited for the loop; the moments are spread evenly over time, so
 * the percentiles estimate that wait at any instant at a tenth of a 10 ms sampler's wake-ups (each wake
 * of an idle daemon costs more CPU than the sample it takes). A stall shorter than this is caught in
 * proportion to its length; one longer, always.
 */
const INTERVAL_MS = 100;

/**
 * How late the event loop ran over the daemon's life: every request, timer and libvirt reply waits
 * behind whatever holds the loop, so its p99 bounds the latency the daemon adds. Reported once, when
 * the daemon stops. The histogram keeps two significant digits up to an hour: monitorEventLoopDelay's
 * fixed one (three digits up to 2^53 ns) holds 360 KB of counters, a tenth of an idle daemon's heap.
 */
export class LoopDelay {
  /** Made at the first sample, so that perf_hooks is not loaded before the daemon first answers. */
  private histogram: RecordableHistogram | undefined;
  private readonly started = monotonicMs();
  private due = this.started + INTERVAL_MS;
  private readonly timer = setInterval(() => this.sample(), INTERVAL_MS).unref();

  private sample(): void {
    const now = monotonicMs();
    // In nanoseconds, at least 1 (the histogram's lowest value): a timer on time was 0 ms late.
    this.histogram ??= perfHooks().createHistogram({ lowest: 1, highest: 3.6e12, figures: 2 });
    this.histogram.record(Math.max(1, Math.round((now - this.due) * 1e6)));
    this.due = now + INTERVAL_MS;
  }

  /** Stops measuring and describes what was measured, e.g. for a log line. */
  finish(): string {
    clearInterval(this.timer);
    const ms = (ns: number) => (ns / 1e6).toFixed(1);
    const h = this.histogram;
    const seconds = ((monotonicMs() - this.started) / 1000).toFixed(0);
    if (!h) return `event-loop delay over ${seconds} s: not sampled`;
    return `event-loop delay over ${seconds} s: p50 ${ms(h.percentile(50))} ms, p99 ${ms(h.percentile(99))} ms, max ${ms(h.max)} ms`;
  }
}
