/**
 * Counts work in progress, in total and per source (a peer address, a CID, a connect-back address), and
 * refuses more than the bounds. Everything an unauthenticated peer can make the daemon hold (a
 * connection, a connect-back) passes through one of these, so no single peer, and no crowd, can use up
 * the descriptors that libvirt reconnects and guest sockets need.
 */
export class ConcurrencyLimiter {
  private total = 0;
  private readonly bySource = new Map<string, number>();

  constructor(
    readonly maxTotal: number,
    readonly maxPerSource: number,
  ) {}

  /** A release function (call it exactly once, when the work ends), or why not: the bound that was hit. */
  tryAcquire(source: string): (() => void) | 'total' | 'per-source' {
    if (this.total >= this.maxTotal) return 'total';
    const mine = this.bySource.get(source) ?? 0;
    if (mine >= this.maxPerSource) return 'per-source';
    this.total++;
    this.bySource.set(source, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.bySource.get(source) as number) - 1;
      // Stored, then deleted at zero: the same calls whether or not the source has other work open. The
      // request path V8 optimised while connections came one at a time had never run a branch taken
      // only when two overlap, and the first overlap deoptimised it (bench/results/hot-path.md).
      this.bySource.set(source, left);
      if (left === 0) this.bySource.delete(source);
    };
  }

  get inUse(): number {
    return this.total;
  }
}
