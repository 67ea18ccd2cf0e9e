/**
 * Our daemon's listener in vmchannel mode with our fence_virt inside a real guest: the agent (run from
 * this checkout through the guest's 9p view of the host root) talks over its virtio-serial channel,
 * lists the domains and powers another real guest off and on; libvirt shows the change.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertListed } from './fence-scenarios.js';
import { FENCE_CHANNEL, GuestBed, qemuUnavailableReason, repoRoot, shellCommand } from './harness.js';
import { startOurSerialDaemon } from './our-daemon.js';

const skip = await qemuUnavailableReason();

test('guest A fences guest B with our fence_virt over virtio-serial (our vmchannel listener)', { skip }, async (t) => {
  const bed = await GuestBed.create();
  t.after(() => bed.cleanup());
  const b = await bed.startGuest({ role: 'b' });
  const a = await bed.startGuest({ role: 'a', hostRoot: true, channels: [FENCE_CHANNEL], interactive: true });
  const daemon = await startOurSerialDaemon(bed, 'vmchannel', [a]);
  t.after(() => daemon.stop());
  await b.ready();

  const agent = (...args: string[]) =>
    a.exec(
      `cd ${shellCommand([repoRoot])} && ${shellCommand([process.execPath, '--import', 'tsx', 'src/bin/fence_virt.ts', '-D', `/dev/virtio-ports/${FENCE_CHANNEL}`, ...args])}`,
    );

  const list = await agent('-o', 'list');
  assert.equal(list.exitCode, 0, list.output);
  assertListed(list.output, [a, b]);

  assert.deepEqual(await agent('-o', 'off', '-n', b.name), { exitCode: 0, output: '' });
  assert.equal(await b.state(), 'shut off');
  assert.deepEqual(await agent('-o', 'on', '-n', b.uuid), { exitCode: 0, output: '' });
  assert.equal(await b.state(), 'running');
  await b.ready(2);
  assert.match(daemon.output(), new RegExp(`audit: listener=serial requester=${a.uuid} \\(${a.name}\\) target="${b.uuid}" op=on`));
});
