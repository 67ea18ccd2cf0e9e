import type { Duplex } from 'node:stream';
import type { KeySource } from '../core/request-gate.js';
import type { Requester } from '../core/requester.js';
import type { HashType } from '../protocol/constants.js';
import { FENCE_REQUEST_SIZE } from '../protocol/fence-request.js';
import { StreamIO } from '../util/stream-io.js';
import { askEarly, runAuthenticatedSession } from './authenticated-session.js';
import { Timeouts, type Listener, type ListenerContext } from './listener.js';
import { chooseVersion, type ProtocolSettings } from './protocol-policy.js';
import { monotonicMs } from '../util/clock.js';

/**
 * Pending connections the kernel queues before the daemon accepts them (TCP and vsock; the C daemon
 * queues 10 and 1). Every accepted connection is served on its own and over-limit ones are closed at
 * once, so the queue only has to absorb bursts: all nodes fencing one victim, or a flood of peers
 * without the key, during which a legitimate client must not find the queue full (its SYN is dropped
 * and retried only after 1 s, then 3 s). 511 still overflowed under 1,000 junk connections a second on
 * a loaded machine, where the daemon is not scheduled for a few hundred ms at times
 * (bench/results/hot-path.md). The kernel caps it at net.core.somaxconn (4096 by default).
 */
export const ACCEPT_BACKLOG = 4096;

/** A source of accepted connections: a TCP server, a vsock server, or a test transport. */
export interface StreamAcceptor<Peer> {
  /** Human-readable bound endpoint, e.g. "127.0.0.1:1229". */
  readonly endpoint: string;
  listen(onConnection: (stream: Duplex, peer: Peer) => void, onError: (err: Error) => void): Promise<void>;
  close(): Promise<void>;
}

export interface StreamListenerSettings<Peer> extends ProtocolSettings {
  name: string;
  key: KeySource;
  minimumHash: HashType;
  auth: HashType;
  /** The peer as counted against max_connections_per_source: its address, or its CID. */
  sourceOf: (peer: Peer) => string;
  /**
   * Turns a peer into the requester identity used for permissions and logs. Called once the request
   * has arrived; `acceptedAt` (monotonicMs() at accept) lets it insist on facts newer than that.
   */
  identify: (peer: Peer, acceptedAt: number) => Promise<Requester> | Requester;
}

/**
 * The TCP and vsock flow: the request within 1 s of accept, verify, admit, challenge-response, execute,
 * answer, close. Each connection runs on its own, so a peer that stalls delays nobody else (the C daemon
 * serves one connection at a time); the daemon-wide bounds keep a crowd of such peers from taking every
 * descriptor.
 */
export class StreamRequestListener<Peer> implements Listener {
  readonly name: string;

  constructor(
    private readonly acceptor: StreamAcceptor<Peer>,
    private readonly settings: StreamListenerSettings<Peer>,
    private readonly ctx: ListenerContext,
  ) {
    this.name = settings.name;
  }

  async start(): Promise<void> {
    await this.acceptor.listen(
      (stream, peer) => this.accept(stream, peer),
      // Accept errors (EMFILE, ECONNABORTED) are survivable: log and keep listening.
      (err) => this.ctx.log.error(`accept failed: ${err.message}`),
    );
    this.ctx.log.notice(`listening on ${this.acceptor.endpoint}`);
  }

  async stop(): Promise<void> {
    await this.acceptor.close();
  }

  private accept(stream: Duplex, peer: Peer): void {
    const source = this.settings.sourceOf(peer);
    const release = this.ctx.core.connections.tryAcquire(source);
    if (typeof release === 'string') {
      stream.on('error', ignore);
      const bound = release === 'total' ? 'max_connections' : 'max_connections_per_source';
      this.ctx.core.shed.report(
        `connections-${release}`,
        `${this.name}: closing a connection from ${source} at once: connection limit ${bound} reached`,
      );
      stream.destroy();
      return;
    }
    // serve() catches and logs every failure of its connection, and releases it in the end.
    void this.serve(stream, peer, source, monotonicMs(), release);
  }

  private async serve(stream: Duplex, peer: Peer, source: string, acceptedAt: number, release: () => void): Promise<void> {
    // Before anything can fail: the StreamIO listens for the stream's errors from here on.
    const io = new StreamIO(stream);
    const log = this.ctx.log;
    try {
      let raw: Buffer;
      try {
        raw = await io.read(FENCE_REQUEST_SIZE, Timeouts.requestRead, 'the request');
      } catch (err) {
        // Junk peers end here by the thousand under a flood: no line built for a level that is off.
        if (log.enabled('info')) log.info(`closing connection from ${source}: ${(err as Error).message}`);
        stream.destroy();
        return;
      }
      const { gate } = this.ctx.core;
      // One key for the whole request: a SIGHUP that swaps keys meanwhile must not change it halfway.
      const key = this.settings.key();
      const settings = { key: () => key, minimumHash: this.settings.minimumHash, auth: this.settings.auth, stream: true };
      const request = gate.verify(raw, source, settings, log);
      const version = request && chooseVersion(raw, this.settings, source, log);
      const identified = version && this.settings.identify(peer, acceptedAt);
      // Awaited only when it is a promise (vsock asks libvirt; TCP knows at once): one turn less.
      const who = identified instanceof Promise ? await identified : identified;
      const admitted = request && who && gate.admit(request, who, raw, log, false);
      if (!admitted || !who || !version) {
        stream.destroy();
        return;
      }
      const wire = { version, raw };
      const early = askEarly(admitted, who, wire, this.ctx.dispatcher);
      await runAuthenticatedSession(
        io,
        admitted,
        who,
        settings,
        wire,
        { dispatcher: this.ctx.dispatcher, core: this.ctx.core, log },
        early,
      );
    } catch (err) {
      log.error(`connection handling failed: ${(err as Error).message}`);
      stream.destroy();
    } finally {
      release();
    }
  }
}

/** Module-level, not a closure: errors of a connection closed at once need a listener, and no scope. */
const ignore = (): void => undefined;
