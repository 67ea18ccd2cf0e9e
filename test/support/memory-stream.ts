/**
 * Connected streams held in memory, for the unit tier: the listener flows run over them without a
 * socket, a port or a network namespace. Each end behaves like a socket end where the flows care:
 * bytes written on one come out of the other, end() is the peer's EOF, destroy() closes both
 * directions, and a peer that stops reading eventually holds back the writer's callbacks.
 */
import { Duplex } from 'node:stream';
import type { StreamAcceptor } from '../../src/listeners/stream-listener.js';

class MemoryEnd extends Duplex {
  peer!: MemoryEnd;
  /** The peer's write waiting for this end's reader to ask for more. */
  private held: ((err?: Error) => void) | undefined;
  private eofPushed = false;

  override _read(): void {
    const resume = this.held;
    this.held = undefined;
    resume?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.peer.destroyed) {
      done(new Error('write after the other end closed (EPIPE)'));
      return;
    }
    if (this.peer.push(chunk)) done();
    else this.peer.held = done;
  }

  override _final(done: (err?: Error | null) => void): void {
    this.peer.pushEof();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.peer.pushEof();
    const held = this.held;
    this.held = undefined;
    held?.(new Error('the other end closed (EPIPE)'));
    done(err);
  }

  private pushEof(): void {
    if (this.eofPushed || this.destroyed) return;
    this.eofPushed = true;
    this.push(null);
  }
}

/** Two connected ends: [a, b]. */
export function memoryStreamPair(): [Duplex, Duplex] {
  const a = new MemoryEnd();
  const b = new MemoryEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/**
 * A StreamAcceptor whose connections are made by the test: `connect(peer)` hands the listener one end
 * with the peer identity the test chooses and returns the other end, the client's.
 */
export class MemoryAcceptor<Peer> implements StreamAcceptor<Peer> {
  readonly endpoint = 'in-memory acceptor';
  private onConnection: ((stream: Duplex, peer: Peer) => void) | undefined;

  async listen(onConnection: (stream: Duplex, peer: Peer) => void): Promise<void> {
    this.onConnection = onConnection;
  }

  async close(): Promise<void> {
    this.onConnection = undefined;
  }

  connect(peer: Peer): Duplex {
    if (!this.onConnection) throw new Error('connection refused: the acceptor is not listening');
    const [client, server] = memoryStreamPair();
    this.onConnection(server, peer);
    return client;
  }
}
