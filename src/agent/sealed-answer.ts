/**
 * The version 2 answer (docs/protocol.md#v2-answer): the version 1 bytes (a code, or the host-list
 * marker, records, terminator and code) and then their tag. Everything is read and checked before
 * anything is reported: an answer changed on the way is a failure, never a success.
 */
import type { V2Session } from '../auth/index.js';
import { decodeHostRecord, HOST_RECORD_SIZE, Response, V2_TAG_SIZE, V2Label, type HostRecord } from '../protocol/index.js';
import type { StreamIO } from '../util/stream-io.js';
import type { Deadline } from './deadline.js';

export type SealedAnswer = { kind: 'code'; code: number } | { kind: 'hostlist'; hosts: HostRecord[]; code: number } | { kind: 'forged' };

export async function readSealedAnswer(io: StreamIO, session: V2Session, stepMs: number, deadline: Deadline): Promise<SealedAnswer> {
  const sealed: Buffer[] = [];
  const read = async (n: number, what: string): Promise<Buffer> => {
    const bytes = await io.read(n, deadline.cap(stepMs), what);
    sealed.push(bytes);
    return bytes;
  };
  const first = (await read(1, 'the answer'))[0] as number;
  const hosts: HostRecord[] = [];
  let code = first;
  if (first === Response.HOSTLIST) {
    for (;;) {
      const record = decodeHostRecord(await read(HOST_RECORD_SIZE, `host record ${hosts.length + 1}`));
      if (record.terminator) break;
      hosts.push(record);
    }
    code = (await read(1, 'the code after the host list'))[0] as number;
  }
  const tag = await io.read(V2_TAG_SIZE, deadline.cap(stepMs), 'the answer tag');
  if (!session.verify(V2Label.answer, tag, ...sealed)) return { kind: 'forged' };
  return first === Response.HOSTLIST ? { kind: 'hostlist', hosts, code } : { kind: 'code', code };
}
