import type { V2Session } from '../auth/v2-exchange.js';
import type { Answer } from '../core/executor.js';
import { hostListChunks, type HostListFraming } from '../protocol/host-list.js';
import { encodeSerialResponse } from '../protocol/serial-messages.js';
import { V2Label } from '../protocol/v2.js';
import { StreamIOError, type StreamIO } from '../util/stream-io.js';

/**
 * Writes an answer with the framing of the path it came in on, each write under a deadline so a
 * client that stops reading cannot hold the request forever
 * (docs/compatibility.md, row 'final answer write').
 */
export function writeAnswer(io: StreamIO, answer: Answer, framing: HostListFraming, timeoutMs: number): Promise<void> {
  if (answer.kind === 'hostlist') return writeHostList(io, answer, framing, timeoutMs);
  return io.write(framing === 'serial' ? encodeSerialResponse(answer.code) : Buffer.of(answer.code), timeoutMs, 'the response');
}

async function writeHostList(
  io: StreamIO,
  answer: Extract<Answer, { kind: 'hostlist' }>,
  framing: HostListFraming,
  timeoutMs: number,
): Promise<void> {
  const chunks = [...hostListChunks(framing, answer.hosts, answer.code)];
  const code = chunks.pop() as Buffer;
  for (const chunk of chunks) await io.write(chunk, timeoutMs, 'the host list');
  try {
    await io.write(code, timeoutMs, 'the code after the host list');
  } catch (err) {
    // The agents (C's and ours) stop reading at the terminator record and close the connection, so
    // the code after it may find the peer gone: the list itself was delivered. A serial port stays
    // open after the agent exits, so there a failure still means something.
    if (!(framing === 'network' && peerGone(err))) throw err;
  }
}

/**
 * A version 2 answer (docs/protocol.md#v2-answer): the version 1 network bytes (the code, or marker,
 * records, terminator and code) followed by their tag, in one write. The agent reads to the tag and
 * checks it before it reports anything.
 */
export async function writeSealedAnswer(io: StreamIO, answer: Answer, session: V2Session, timeoutMs: number): Promise<void> {
  const chunks = answer.kind === 'code' ? [Buffer.of(answer.code)] : [...hostListChunks('network', answer.hosts, answer.code)];
  await io.write(Buffer.concat([...chunks, session.tag(V2Label.answer, ...chunks)]), timeoutMs, 'the sealed answer');
}

/** The peer closed or reset the connection (not: it stopped reading, which times out). */
function peerGone(err: unknown): boolean {
  return err instanceof StreamIOError && (err.code === 'WRITE' || err.code === 'CLOSED');
}
