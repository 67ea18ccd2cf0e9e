/**
 * Our fence_virtd's serial listener in place of the C one: the C fence_virt inside real guest A asks
 * over its ttyS1 for the domain list and powers real guest B off and on. B's qemu exits and comes back,
 * so our daemon must drop B's serial socket and open the new one, driven by libvirt's events.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fenceOverTtyS1 } from './fence-scenarios.js';
import { qemuUnavailableReason } from './harness.js';
import { registeredLine, startOurSerialDaemon } from './our-daemon.js';

const skip = await qemuUnavailableReason();

test('guest A fences guest B through our serial listener (list, off, on)', { skip }, async (t) => {
  const { daemon, b } = await fenceOverTtyS1(t, (bed, guests) => startOurSerialDaemon(bed, 'serial', guests));
  await daemon.waitForOutput(registeredLine(b, 2));
  // qemu's exit closes the socket, usually before libvirt's event says the domain stopped.
  assert.match(daemon.output(), new RegExp(`(socket|dropped) \\S+ of domain ${b.name} (closed|\\(${b.uuid}\\): domain ${b.name} stopped)`));
  assert.match(daemon.output(), /audit: listener=serial requester=\S+ \(\S+-a\) target="\S+-b" op=off seqno=\d+ result=success/);
});
