/**
 * What the guest tests do, for any daemon (the C oracle or ours): guest A asks the host's serial
 * listener to list the domains and to power guest B off and on again, and libvirt shows B's state
 * change.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { DaemonProcess } from '../support/daemon-process.js';
import { GuestBed, type CommandResult, type Guest } from './harness.js';

export type StartDaemon = (bed: GuestBed, guests: readonly Guest[]) => Promise<DaemonProcess>;

/** Asserts that `output` lists each guest as running, in the agents' "name uuid on" format. */
export function assertListed(output: string, guests: readonly Guest[]): void {
  const lines = output.split('\n');
  for (const guest of guests) {
    assert.ok(
      lines.some((line) => new RegExp(`^${guest.name} +${guest.uuid} on$`).test(line)),
      `${guest.name} missing from:\n${output}`,
    );
  }
}

/**
 * The C fence_virt in guest A on its ttyS1 (a unix socket in the bed's socket dir): list, off B, on B.
 * Both guests have a ttyS1 socket, so the daemon also has B's to drop and re-open.
 */
export async function fenceOverTtyS1(t: TestContext, start: StartDaemon): Promise<{ daemon: DaemonProcess; a: Guest; b: Guest }> {
  const bed = await GuestBed.create();
  t.after(() => bed.cleanup());
  const b = await bed.startGuest({ role: 'b', serial: true });
  const a = await bed.startGuest({ role: 'a', serial: true, interactive: true });
  const daemon = await start(bed, [a, b]);
  t.after(() => daemon.stop());
  await b.ready();

  const list = await a.exec('fence_virt -D /dev/ttyS1 -o list');
  assert.equal(list.exitCode, 0, list.output);
  assertListed(list.output, [a, b]);

  const off = await a.exec(`fence_virt -D /dev/ttyS1 -o off -H ${b.name}`);
  assert.deepEqual(off, { exitCode: 0, output: '' } satisfies CommandResult);
  assert.equal(await b.state(), 'shut off');

  const on = await a.exec(`fence_virt -D /dev/ttyS1 -o on -H ${b.name}`);
  assert.deepEqual(on, { exitCode: 0, output: '' } satisfies CommandResult);
  assert.equal(await b.state(), 'running');
  // Not just "running": B boots a second time.
  await b.ready(2);
  return { daemon, a, b };
}
