/**
 * The serial/vmchannel conversation (docs/protocol.md#serial-messages and #serial-and-vmchannel-flow): a
 * 74-byte request, then an `abba` magic followed by the answer byte, found by scanning the stream (a tty
 * may hold noise). The scan uses the protocol's MagicFramer, which also finds a magic right after a
 * stray 'a' — the C agent's scanner misses it (docs/compatibility.md, row 'serial answer scan'). Returns
 * the answer byte (unsigned, as the C serial code reads it) or -1.
 *
 * An answer carries no sequence number, so a late answer of the daemon to an earlier run that timed
 * out, left waiting in the channel, would pass for this run's answer: whatever the channel holds is
 * discarded before the request goes out.
 */
import type { Duplex } from 'node:stream';
import { decodeSerialResponse, encodeSerialRequest, MagicFramer, Response, SERIAL_RESPONSE_SIZE } from '../protocol/index.js';
import { StreamIO, StreamIOError } from '../util/stream-io.js';
import { timedOutOn, type Deadline } from './deadline.js';
import { AGENT_STREAM_BUFFER, printHostList } from './host-list-printer.js';
import { newSeqno } from './request-builder.js';
import { stepMs, type RunContext } from './run-context.js';

/** The C agents give the request write 3 s. */
const WRITE_MS = 3000;
/** How long to wait for the daemon's trailing answer after a host list (see below). */
const TRAILER_MS = 1000;
/**
 * How long a channel that has no flush (a virtio-serial port, a vmchannel connection) must stay quiet
 * before the request goes out. QEMU keeps what the daemon wrote while the guest had the channel closed
 * and hands it over only once the guest has opened it, a moment after the open returns, so reading
 * just what is there at the open would miss it. A tty spends as long on its modem-line drop and is
 * flushed after it.
 */
export const SETTLE_MS = 300;

export interface SerialChannel {
  stream: Duplex;
  /** What was pending has just been flushed (a tty); otherwise it is read and dropped here. */
  flushed: boolean;
}

/**
 * Reads and drops bytes until none has come for SETTLE_MS; returns how many. Rejects if the channel
 * closes, or is still sending when the run's deadline comes.
 */
async function discardPending(io: StreamIO, deadline: Deadline): Promise<number> {
  for (let discarded = 0; ; discarded++) {
    try {
      await io.read(1, deadline.cap(SETTLE_MS), 'a quiet channel');
    } catch (err) {
      if (err instanceof StreamIOError && err.code === 'TIMEOUT' && !deadline.expired) return discarded;
      throw err;
    }
  }
}

export async function serialExchange({ stream, flushed }: SerialChannel, ctx: RunContext): Promise<number> {
  const { args, out, log, deadline } = ctx;
  const io = new StreamIO(stream, AGENT_STREAM_BUFFER);
  const cancelGuard = deadline.guard(stream);
  try {
    if (!flushed) {
      try {
        const discarded = await discardPending(io, deadline);
        if (discarded > 0)
          log.warn(`discarded ${discarded} byte(s) waiting in the channel before the request (a late answer to an earlier run?)`);
      } catch (err) {
        log.error(
          timedOutOn(err, deadline)
            ? `the channel did not stay quiet for ${SETTLE_MS} ms within the ${args.timeout} s timeout; no request sent`
            : `the channel closed before the request was sent: ${(err as Error).message}`,
        );
        return -1;
      }
    }
    const request = encodeSerialRequest({ request: args.op, flags: 0, domain: args.domain ?? '', seqno: newSeqno() });
    try {
      await io.write(request, deadline.cap(WRITE_MS), 'the request');
    } catch (err) {
      log.error(`sending the request failed: ${(err as Error).message}`);
      return -1;
    }
    const framer = new MagicFramer(SERIAL_RESPONSE_SIZE, decodeSerialResponse);
    let answer: number | undefined;
    while (answer === undefined) {
      let byte: Buffer;
      try {
        byte = await io.read(1, deadline.cap(stepMs(ctx)), 'the answer');
      } catch (err) {
        log.error(
          timedOutOn(err, deadline)
            ? `no answer from fence_virtd within ${args.timeout} s (is its serial listener serving this channel?)`
            : `the channel closed before an answer came: ${(err as Error).message}`,
        );
        return -1;
      }
      for (const event of framer.push(byte)) {
        if (event.type === 'frame') answer = event.value;
        else log.debug(`skipped ${event.count} byte(s) before the answer: ${event.reason}`);
      }
    }
    if (answer !== Response.HOSTLIST) return answer;
    await printHostList(io, stepMs(ctx), deadline, out, log);
    // The daemon ends a host list with one more framed answer. Left unread, a persistent channel would
    // hand it to the next agent as that agent's answer, so it is consumed here
    // (docs/compatibility.md, row 'serial host-list trailer').
    await io.read(SERIAL_RESPONSE_SIZE, deadline.cap(TRAILER_MS)).catch(() => undefined);
    return 0;
  } finally {
    cancelGuard();
    stream.destroy();
  }
}
