/**
 * The test bed against the oracle: the C fence_virtd's serial listener, fed by the C fence_virt inside
 * a real guest over its ttyS1, fences another real guest through libvirt (our-daemon-serial repeats
 * this with our daemon).
 */
import { test } from 'node:test';
import { cDaemonMissing } from '../support/c-daemon.js';
import { startCSerialDaemon } from './c-daemon.js';
import { fenceOverTtyS1 } from './fence-scenarios.js';
import { qemuUnavailableReason } from './harness.js';

const skip = (await qemuUnavailableReason()) ?? cDaemonMissing();

test('guest A fences guest B through the C serial listener (list, off, on)', { skip }, async (t) => {
  await fenceOverTtyS1(t, (bed, guests) => startCSerialDaemon(bed, 'serial', guests));
});
