import type { Answer } from '../core/executor.js';
import { hostListChunks, type HostListFraming } from '../protocol/host-list.js';
import { encodeSerialResponse } from '../protocol/serial-messages.js';
import type { StreamIO } from '../util/stream-io.js';

/**
 * Writes an answer with the framing of the path it came in on, each write under a deadline so a
 * client that stops reading cannot hold the request forever
 * (docs/compatibility.md, row 'final answer write').
 */
export async function writeAnswer(io: StreamIO, answer: Answer, framing: HostListFraming, timeoutMs: number): Promise<void> {
  if (answer.kind === 'code') {
    const bytes = framing === 'serial' ? encodeSerialResponse(answer.code) : Buffer.of(answer.code);
    await io.write(bytes, timeoutMs, 'the response');
    return;
  }
  for (const chunk of hostListChunks(framing, answer.hosts, answer.code)) await io.write(chunk, timeoutMs, 'the host list');
}
