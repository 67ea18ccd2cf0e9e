/**
 * An attacker in the middle of a TCP connection, on loopback: it forwards between the agent and the
 * daemon, records what the agent sent, and may change one byte in either direction, counted from the
 * start of that direction's stream.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Tamper {
  /** Which direction, and the offset of the byte to change. */
  direction: 'to-daemon' | 'to-agent';
  offset: number;
  change: (byte: number) => number;
}

export class TamperProxy {
  /** Every byte the agent sent, per connection, in order. */
  readonly fromAgent: Buffer[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  static async start(port: number, daemonPort: number, tamper?: Tamper): Promise<TamperProxy> {
    const server = createServer();
    const proxy = new TamperProxy(server);
    server.on('connection', (agent) => proxy.relay(agent, daemonPort, tamper));
    server.listen({ host: '127.0.0.1', port });
    await once(server, 'listening');
    return proxy;
  }

  private relay(agent: Socket, daemonPort: number, tamper: Tamper | undefined): void {
    const index = this.fromAgent.push(Buffer.alloc(0)) - 1;
    const daemon = connect({ host: '127.0.0.1', port: daemonPort });
    for (const s of [agent, daemon]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => this.sockets.delete(s));
    }
    const pipe = (from: Socket, to: Socket, direction: Tamper['direction']) => {
      let seen = 0;
      from.on('data', (chunk: Buffer) => {
        const bytes = Buffer.from(chunk);
        if (tamper?.direction === direction && tamper.offset >= seen && tamper.offset < seen + bytes.length) {
          const at = tamper.offset - seen;
          bytes[at] = tamper.change(bytes[at] as number);
        }
        seen += bytes.length;
        if (direction === 'to-daemon') this.fromAgent[index] = Buffer.concat([this.fromAgent[index] as Buffer, chunk]);
        to.write(bytes);
      });
      from.on('end', () => to.end());
      from.on('close', () => to.destroy());
    };
    pipe(agent, daemon, 'to-daemon');
    pipe(daemon, agent, 'to-agent');
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
