/**
 * The vmchannel path against the oracle: a Node program in a real guest (the C agent cannot open
 * virtio-serial ports) sends serial requests on its virtio-serial channel to the C fence_virtd's
 * listener in vmchannel mode, which fences another real guest. The agent work replaces the program with
 * our fence_virt.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cDaemonMissing } from '../support/c-daemon.js';
import { startCSerialDaemon } from './c-daemon.js';
import { FENCE_CHANNEL, GuestBed, qemuUnavailableReason, repoRoot, shellCommand } from './harness.js';

const skip = (await qemuUnavailableReason()) ?? cDaemonMissing();

const requestTool = 'test/guests/guest-tools/serial-request.ts';

test('guest A asks for status and fences guest B over virtio-serial (C vmchannel listener)', { skip }, async (t) => {
  const bed = await GuestBed.create();
  t.after(() => bed.cleanup());
  const b = await bed.startGuest({ role: 'b' });
  const a = await bed.startGuest({ role: 'a', hostRoot: true, channels: [FENCE_CHANNEL], interactive: true });
  const daemon = await startCSerialDaemon(bed, 'vmchannel', [a]);
  t.after(() => daemon.stop());
  await b.ready();

  const tool = [process.execPath, '--import', 'tsx', requestTool, `/dev/virtio-ports/${FENCE_CHANNEL}`];
  const steps = [`status:${b.name}`, `status:${bed.tag}-missing`, `off:${b.name}`, `status:${b.name}`];
  const result = await a.exec(`cd ${shellCommand([repoRoot])} && ${shellCommand([...tool, ...steps])}`);
  // ON, OFF for a missing domain, done, and OFF once fenced.
  assert.deepEqual(result, { exitCode: 0, output: '0\n2\n0\n2\n' });
  assert.equal(await b.state(), 'shut off');
});
