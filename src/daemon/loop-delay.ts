import type { RecordableHistogram } from 'node:perf_hooks';
import type { Answer, RequestExecutor } from '../core/executor.js';
import { perfHooks } from '../util/lazy-builtins.js';
import { monotonicMs } from '../util/clock.js';

/**
 * How often the loop is sampled while it serves. Each sample is how late the timer ran, which is how
 * long a request arriving at that moment would have waited for the loop; the moments are spread evenly
 * over time, so the percentiles estimate that wait at any instant. A stall shorter than this is caught
 * in proportion to its length; one longer, always.
 */
const INTERVAL_MS = 100;
/**
 * Samples without a request begun or running after which sampling stops until the next request. Each
 * wake-up of an idle process costs this machine about 0.4 ms of CPU (4 ms a second at 100 ms), where an
 * idle C daemon uses none.
 */
const QUIET_SAMPLES = 10;

/**
 * How late the event loop ran while the daemon served requests: every request, timer and libvirt reply
 * waits behind whatever holds the loop, so its p99 bounds the latency the daemon adds. Sampled from a
 * request until QUIET_SAMPLES samples pass with no request begun or running, so an idle daemon sleeps.
 * Only requests that reach the executor wake it: what holds the loop while none runs (a flood of junk
 * that no request follows, V8's memory reducer in an idle spell) is not sampled, as no request waited
 * behind it. Reported once, when the daemon stops. The histogram keeps two significant digits up to an
 * hour: monitorEventLoopDelay's fixed one (three digits up to 2^53 ns) holds 360 KB of counters, a
 * tenth of an idle daemon's heap.
 */
export class LoopDelay {
  /** Made at the first sample, so that perf_hooks is not loaded before the daemon first answers. */
  private histogram: RecordableHistogram | undefined;
  private readonly started = monotonicMs();
  /** Set while sampling. */
  private timer: NodeJS.Timeout | undefined;
  private due = 0;
  /** Requests begun, and those not yet answered. */
  private begun = 0;
  private running = 0;
  private begunAtLastSample = 0;
  private quietSamples = 0;
  private stopped = false;
  private readonly ended = (): void => void this.running--;

  constructor(private readonly quietAfter = QUIET_SAMPLES) {}

  /** `executor`, with each request it executes waking the sampler until it is done. */
  watching(executor: RequestExecutor): RequestExecutor {
    return {
      execute: (req, who): Promise<Answer> => {
        this.begin();
        let answer: Promise<Answer>;
        try {
          answer = executor.execute(req, who);
        } catch (err) {
          this.ended(); // thrown, not rejected: no request left running
          throw err;
        }
        answer.then(this.ended, this.ended);
        return answer;
      },
    };
  }

  private begin(): void {
    this.begun++;
    this.running++;
    if (this.timer || this.stopped) return;
    this.due = monotonicMs() + INTERVAL_MS;
    this.timer = setInterval(() => this.sample(), INTERVAL_MS).unref();
  }

  private sample(): void {
    const now = monotonicMs();
    // In nanoseconds, at least 1 (the histogram's lowest value): a timer on time was 0 ms late.
    this.histogram ??= perfHooks().createHistogram({ lowest: 1, highest: 3.6e12, figures: 2 });
    this.histogram.record(Math.max(1, Math.round((now - this.due) * 1e6)));
    this.due = now + INTERVAL_MS;
    if (this.running > 0 || this.begun !== this.begunAtLastSample) {
      this.begunAtLastSample = this.begun;
      this.quietSamples = 0;
    } else if (++this.quietSamples >= this.quietAfter) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Stops measuring and describes what was measured, e.g. for a log line. */
  finish(): string {
    clearInterval(this.timer);
    this.stopped = true;
    const seconds = ((monotonicMs() - this.started) / 1000).toFixed(0);
    const h = this.histogram;
    if (!h) return `event-loop delay over ${seconds} s: not sampled (${this.begun ? 'stopped before the first sample' : 'no request'})`;
    const ms = (ns: number) => (ns / 1e6).toFixed(1);
    const sampled = ((h.count * INTERVAL_MS) / 1000).toFixed(0);
    return (
      `event-loop delay over ${seconds} s: p50 ${ms(h.percentile(50))} ms, p99 ${ms(h.percentile(99))} ms, ` +
      `max ${ms(h.max)} ms (sampled while serving requests: ${sampled} s)`
    );
  }
}
