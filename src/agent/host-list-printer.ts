/**
 * Reads host-list records after the 0xFD marker and prints one line per VM as the C agents do:
 * name padded to 32 bytes, UUID, "on" for state 1 (running) and "off" for every other state.
 */
import { decodeHostRecord, DomainState, HOST_RECORD_SIZE, ProtocolError } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import { StreamIOError, type StreamIO } from '../util/stream-io.js';
import { timedOutOn, type Deadline } from './deadline.js';
import type { AgentOutput } from './output.js';

/**
 * How much unread data a stream may hold before StreamIO cuts the peer off. StreamIO reads without
 * back-pressure, so a daemon's host list arrives as fast as the network allows: its default 64 KiB
 * would cut off a list of about 500 guests. 16 MiB holds some 129,000 records and still bounds memory.
 */
export const AGENT_STREAM_BUFFER = 16 * 1024 * 1024;

export function hostLine(name: string, uuid: string, state: number): string {
  const pad = ' '.repeat(Math.max(0, 32 - Buffer.byteLength(name)));
  return `${name}${pad} ${uuid} ${state === DomainState.RUNNING ? 'on' : 'off'}\n`;
}

/** Prints records until the all-empty terminator. A list cut short still counts as answered (exit 0). */
export async function printHostList(io: StreamIO, stepMs: number, deadline: Deadline, out: AgentOutput, log: Logger): Promise<void> {
  for (let count = 0; ; count++) {
    let record;
    try {
      record = decodeHostRecord(await io.read(HOST_RECORD_SIZE, deadline.cap(stepMs), `host record ${count + 1}`));
    } catch (err) {
      const timedOut = timedOutOn(err, deadline);
      // The C agents' words; they loop forever on a list cut short by the daemon, we stop.
      out.stdout(timedOut ? 'Timed out!\n' : 'Bad read!\n');
      log.error(`host list incomplete after ${count} records: ${(err as Error).message}`);
      if (!(err instanceof StreamIOError || err instanceof ProtocolError)) throw err;
      return;
    }
    if (record.terminator) return;
    out.stdout(hostLine(record.name, record.uuid, record.state));
  }
}
