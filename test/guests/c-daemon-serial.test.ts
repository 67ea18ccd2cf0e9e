/**
 * The test bed against the oracle: the C fence_virtd's serial listener, fed by the C fence_virt inside
 * a real guest over its ttyS1, fences another real guest through libvirt. The serial-listener work
 * repeats this with our daemon in place of the C one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cDaemonMissingReason, startCSerialDaemon } from './c-daemon.js';
import { GuestBed, qemuUnavailableReason } from './harness.js';

const skip = (await qemuUnavailableReason()) ?? cDaemonMissingReason();

test('guest A fences guest B through the C serial listener (list, off, on)', { skip }, async (t) => {
  const bed = await GuestBed.create();
  t.after(() => bed.cleanup());
  const b = await bed.startGuest({ role: 'b', serial: true });
  const a = await bed.startGuest({ role: 'a', serial: true, interactive: true });
  const daemon = await startCSerialDaemon(bed, 'serial', [a, b]);
  t.after(() => daemon.stop());
  await b.ready();

  const list = await a.exec('fence_virt -D /dev/ttyS1 -o list');
  assert.equal(list.exitCode, 0, list.output);
  const lines = list.output.split('\n');
  for (const guest of [a, b]) {
    assert.ok(
      lines.some((line) => new RegExp(`^${guest.name} +${guest.uuid} on$`).test(line)),
      `${guest.name} missing from:\n${list.output}`,
    );
  }

  const off = await a.exec(`fence_virt -D /dev/ttyS1 -o off -H ${b.name}`);
  assert.deepEqual(off, { exitCode: 0, output: '' });
  assert.equal(await b.state(), 'shut off');

  const on = await a.exec(`fence_virt -D /dev/ttyS1 -o on -H ${b.name}`);
  assert.deepEqual(on, { exitCode: 0, output: '' });
  assert.equal(await b.state(), 'running');
  // Not just "running": B boots a second time.
  await b.ready(2);
});
