/**
 * The TCP socket the daemon connects back to: the wildcard address at the multicast port number, as
 * the C agent listens (so existing guest firewall rules for that port keep working). The first
 * connection is taken; any later one is closed.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Family } from '../../protocol/index.js';

export class CallbackListener {
  private readonly queue: Socket[] = [];
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  private constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => {
      this.queue.push(socket);
      this.notify();
    });
    server.on('error', (err: Error) => {
      this.failure = err;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Rejects with the listen error (EADDRINUSE when another agent waits on the same port). */
  static async open(port: number, family: typeof Family.INET | typeof Family.INET6): Promise<CallbackListener> {
    const server = createServer();
    const listening = once(server, 'listening');
    server.listen({ port, host: family === Family.INET ? '0.0.0.0' : '::', backlog: 10, exclusive: true });
    await listening; // rejects with the server's 'error'
    return new CallbackListener(server);
  }

  /** The next connection within `timeoutMs`, undefined if none came; rejects if the socket failed. */
  async next(timeoutMs: number): Promise<Socket | undefined> {
    if (!this.queue.length && !this.failure && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    if (this.failure) throw this.failure;
    return this.queue.shift();
  }

  /** Stops accepting (so a second daemon's connect-back is refused, not left waiting); idempotent. */
  close(): void {
    if (this.server.listening) this.server.close();
    for (const socket of this.queue.splice(0)) socket.destroy();
  }
}
