/**
 * The domains of test/fixtures/fuzz/node.xml as the fuzzer uses them, and the key it signs with. A run
 * checks these start states against the daemon's own host list before it fuzzes, so a drift between
 * this table and the XML fails at once.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { DomainState } from '../../src/protocol/index.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/fuzz/node.xml', import.meta.url));

export interface FixtureDomain {
  name: string;
  uuid: string;
  state: number;
}

/** What fuzzed requests name; fencing any of them is always unintended. */
export const TARGETS: readonly FixtureDomain[] = [
  { name: 'fz-run-1', uuid: 'f0000000-0000-4000-8000-000000000001', state: DomainState.RUNNING },
  { name: 'fz-run-2', uuid: 'f0000000-0000-4000-8000-000000000002', state: DomainState.RUNNING },
  { name: 'fz-paused', uuid: 'f0000000-0000-4000-8000-000000000003', state: DomainState.PAUSED },
  { name: 'fz-off', uuid: 'f0000000-0000-4000-8000-000000000005', state: DomainState.SHUTOFF },
];

/** Fenced only by the legitimate off + on at the start of a run, which shows that actions are seen. */
export const CONTROL: FixtureDomain = { name: 'fz-control', uuid: 'f0000000-0000-4000-8000-0000000000c0', state: DomainState.RUNNING };

/** Guests whose serial sockets the serial listener serves; they may only act on themselves. */
export const SERIAL_GUESTS: readonly FixtureDomain[] = [
  { name: 'fz-serial-1', uuid: 'f0000000-0000-4000-8000-000000000101', state: DomainState.RUNNING },
  { name: 'fz-serial-2', uuid: 'f0000000-0000-4000-8000-000000000102', state: DomainState.RUNNING },
];

/** Guests holding vsock CIDs (5 and 7 in the XML). */
export const VSOCK_GUESTS: readonly (FixtureDomain & { cid: number })[] = [
  { name: 'fz-vsock-5', uuid: 'f0000000-0000-4000-8000-000000000205', state: DomainState.RUNNING, cid: 5 },
  { name: 'fz-vsock-7', uuid: 'f0000000-0000-4000-8000-000000000207', state: DomainState.RUNNING, cid: 7 },
];

/** Every domain of the fixture: the harness checks all of them keep their start state. */
export const FIXTURE_DOMAINS: readonly FixtureDomain[] = [...TARGETS, CONTROL, ...SERIAL_GUESTS, ...VSOCK_GUESTS];

/**
 * The `uuid` entries of the group of the host's own requesters (the harness): the targets by name and
 * UUID, the other domains by name only, so that no guest's UUID makes the guest a member.
 */
export const HOST_GROUP_TARGETS: readonly string[] = [...TARGETS.map((d) => d.uuid), ...FIXTURE_DOMAINS.map((d) => d.name)];

/** The shared key of every run (its bytes do not matter; wrong keys are derived from it). */
export const KEY = new AuthKey(Buffer.from('fence-virtd fuzzer key 5f3c9a1e\n'));

/** Writes the fixture with its socket directory filled in and returns the path for the libvirt URI. */
export async function writeNode(dir: string, socketDir: string): Promise<string> {
  const path = join(dir, 'node.xml');
  await writeFile(path, (await readFile(FIXTURE, 'utf8')).replaceAll('@SOCKET_DIR@', socketDir));
  return path;
}

/** The answer to a status request: 2 for shut off, 0 for any other state. */
export function statusCode(state: number): number {
  return state === DomainState.SHUTOFF ? 2 : 0;
}
