/**
 * A promise that resolves after `ms`. node:timers/promises does this too, but loading it costs a start
 * about 0.3 ms of CPU (bench/results/startup-memory.md). `ref: false`: the timer alone does not keep
 * the process alive.
 */
export function sleep(ms: number, { ref = true }: { ref?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (!ref) timer.unref();
  });
}
