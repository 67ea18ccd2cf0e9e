/**
 * A relay between the daemon and a real libvirtd, on a unix socket of its own, that lets a test act at
 * the exact moment a chosen call is on its way: `onCall(Proc.DomainDestroy, hook)` runs the hook (e.g.
 * SIGSTOP libvirtd) before the call's bytes are passed on. Timing a SIGKILL against a call that the
 * test driver answers in microseconds is otherwise luck; with the relay, the fault is real (libvirtd
 * is stopped and killed by its PID with the call in its socket) and certain to hit that call.
 * Everything else is passed through unchanged, both ways, unless `renumber` asks otherwise.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { encodePacket, MessageType, PacketDecoder } from '../../src/libvirt/packet.js';

export class LibvirtTap {
  private readonly hooks = new Map<number, () => void | Promise<void>>();
  /** Procedures passed on under another number (see renumber). */
  private readonly renumbered = new Map<number, number>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  /** Calls seen, by procedure number. */
  readonly calls = new Map<number, number>();

  private constructor(
    readonly path: string,
    private readonly upstream: string,
  ) {
    this.server = createServer((client) => this.relay(client));
  }

  /** Listens in `dir`, relaying to libvirtd's socket `upstream`. */
  static async start(dir: string, upstream: string): Promise<LibvirtTap> {
    const tap = new LibvirtTap(join(dir, 'tap-sock'), upstream);
    tap.server.listen(tap.path);
    await once(tap.server, 'listening');
    return tap;
  }

  /** Runs `hook` once, before the next call of `procedure` is passed on. */
  onCall(procedure: number, hook: () => void | Promise<void>): void {
    this.hooks.set(procedure, hook);
  }

  /**
   * Calls of `procedure` on connections made from now on reach libvirtd as procedure `as`, and its reply
   * comes back under `procedure` again: with a number libvirtd does not know, the caller meets a
   * libvirtd (or a driver) without that call, and the error it gets is libvirtd's own.
   */
  renumber(procedure: number, as: number): void {
    this.renumbered.set(procedure, as);
  }

  /** A test+unix URI on this relay for a test-driver path. */
  uri(path: string): string {
    return `test+unix://${path}?socket=${this.path}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private relay(client: Socket): void {
    const server = connect(this.upstream);
    for (const s of [client, server]) {
      this.sockets.add(s);
      s.on('error', () => undefined).on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        server.destroy();
      });
    }
    // Serial of each renumbered call in flight → its own procedure number.
    const renamed = new Map<number, number>();
    if (this.renumbered.size === 0) server.pipe(client);
    else {
      const replies = new PacketDecoder();
      server.on('data', (chunk: Buffer) => {
        for (const { header, payload } of replies.push(chunk)) {
          const own = header.type === MessageType.Reply ? renamed.get(header.serial) : undefined;
          if (own !== undefined) renamed.delete(header.serial);
          client.write(encodePacket(own === undefined ? header : { ...header, procedure: own }, payload));
        }
      });
    }
    const decoder = new PacketDecoder();
    // One packet at a time, in order, so a hook that stalls holds back everything after its call.
    let queue = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      for (const { header, payload } of decoder.push(chunk)) {
        queue = queue.then(async () => {
          if (header.type === MessageType.Call) {
            this.calls.set(header.procedure, (this.calls.get(header.procedure) ?? 0) + 1);
            const hook = this.hooks.get(header.procedure);
            this.hooks.delete(header.procedure);
            await hook?.();
          }
          const as = header.type === MessageType.Call ? this.renumbered.get(header.procedure) : undefined;
          if (as !== undefined) renamed.set(header.serial, header.procedure);
          if (!server.destroyed) server.write(encodePacket(as === undefined ? header : { ...header, procedure: as }, payload));
        });
      }
    });
  }
}
