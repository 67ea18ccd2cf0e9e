/**
 * libvirt's keepalive rule, client side: when nothing has arrived for one interval, send a PING; after
 * `count` PINGs without any traffic back, the peer is dead. Any received packet counts as life.
 */
export interface KeepaliveOptions {
  intervalMs: number;
  count: number;
}

export class KeepaliveMonitor {
  private lastSeen = Date.now();
  private missed = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: KeepaliveOptions,
    private readonly ping: () => void,
    private readonly dead: (silentMs: number) => void,
  ) {}

  start(): void {
    this.seen();
    // Unref'd: keepalive alone must not keep a process alive.
    this.timer = setInterval(() => this.tick(), this.options.intervalMs).unref();
  }

  seen(): void {
    this.lastSeen = Date.now();
    this.missed = 0;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    const silent = Date.now() - this.lastSeen;
    if (silent < this.options.intervalMs) return;
    if (this.missed >= this.options.count) {
      this.stop();
      this.dead(silent);
      return;
    }
    this.missed++;
    this.ping();
  }
}
