import type { Duplex } from 'node:stream';
import type { HashType } from '../protocol/constants.js';
import { FENCE_REQUEST_SIZE } from '../protocol/fence-request.js';
import type { Requester } from '../daemon/dispatcher.js';
import { RequestHistory } from '../daemon/request-history.js';
import { HISTORY_WINDOW_MS } from '../protocol/constants.js';
import { StreamIO } from '../util/stream-io.js';
import { runAuthenticatedSession } from './authenticated-session.js';
import { Timeouts, type KeySource, type Listener, type ListenerContext } from './listener.js';
import { admitRequest } from './request-gate.js';

/** A source of accepted connections: a TCP server, a vsock server, or a test transport. */
export interface StreamAcceptor<Peer> {
  /** Human-readable bound endpoint, e.g. "127.0.0.1:1229". */
  readonly endpoint: string;
  listen(onConnection: (stream: Duplex, peer: Peer) => void, onError: (err: Error) => void): Promise<void>;
  close(): Promise<void>;
}

export interface StreamListenerSettings<Peer> {
  name: string;
  key: KeySource;
  minimumHash: HashType;
  auth: HashType;
  /** Turns a peer into the requester identity used for permissions and logs. */
  identify: (peer: Peer) => Promise<Requester> | Requester;
}

/**
 * The TCP and vsock flow (PROTOCOL.md §4.3, §4.4): the request within 1 s of accept, verify, dedupe,
 * challenge-response, execute, answer, close. Each connection runs on its own, so a peer that stalls
 * delays nobody else (the C daemon serves one connection at a time, §9 W16).
 */
export class StreamRequestListener<Peer> implements Listener {
  readonly name: string;
  private readonly history = new RequestHistory(HISTORY_WINDOW_MS);

  constructor(
    private readonly acceptor: StreamAcceptor<Peer>,
    private readonly settings: StreamListenerSettings<Peer>,
    private readonly ctx: ListenerContext,
  ) {
    this.name = settings.name;
  }

  async start(): Promise<void> {
    await this.acceptor.listen(
      (stream, peer) => void this.serve(stream, peer),
      // Accept errors (EMFILE, ECONNABORTED) are survivable: log and keep listening (§9 W17).
      (err) => this.ctx.log.error(`accept failed: ${err.message}`),
    );
    this.ctx.log.notice(`listening on ${this.acceptor.endpoint}`);
  }

  async stop(): Promise<void> {
    await this.acceptor.close();
  }

  private async serve(stream: Duplex, peer: Peer): Promise<void> {
    stream.on('error', () => undefined); // StreamIO reports errors where they matter.
    const io = new StreamIO(stream);
    const log = this.ctx.log;
    try {
      const who = await this.settings.identify(peer);
      let raw: Buffer;
      try {
        raw = await io.read(FENCE_REQUEST_SIZE, Timeouts.requestRead, 'the request');
      } catch (err) {
        log.info(`closing connection from ${who.display}: ${(err as Error).message}`);
        stream.destroy();
        return;
      }
      const admitted = admitRequest(raw, who.display, this.settings, this.history, log);
      if (!admitted) {
        stream.destroy();
        return;
      }
      await runAuthenticatedSession(io, admitted, who, this.settings, { dispatcher: this.ctx.dispatcher, history: this.history, log });
    } catch (err) {
      log.error(`connection handling failed: ${(err as Error).message}`);
      stream.destroy();
    }
  }
}
