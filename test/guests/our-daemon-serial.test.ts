/**
 * Our fence_virtd's serial listener in place of the C one: the C fence_virt inside real guest A asks
 * over its ttyS1 for the domain list and powers real guest B off and on. B's qemu exits and comes back,
 * so our daemon must drop B's serial socket and open the new one, driven by libvirt's events. Then, on
 * the same boot, B's qemu is killed by its PID (a crash under libvirtd): B reads as off, its socket is
 * dropped and opened again when B is started, and A's socket, which carries all of it, stays open.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitUntil } from '../support/processes.js';
import { fenceOverTtyS1 } from './fence-scenarios.js';
import { qemuUnavailableReason } from './harness.js';
import { registeredLine, startOurSerialDaemon } from './our-daemon.js';

const skip = await qemuUnavailableReason();

test('guest A fences guest B through our serial listener (list, off, on); B crashes and starts again', { skip }, async (t) => {
  const { daemon, a, b } = await fenceOverTtyS1(t, (bed, guests) => startOurSerialDaemon(bed, 'serial', guests));
  await daemon.waitForOutput(registeredLine(b, 2));
  // qemu's exit closes the socket, usually before libvirt's event says the domain stopped.
  const bGone = new RegExp(`(socket|dropped) \\S+ of domain ${b.name} (closed|\\(${b.uuid}\\): domain ${b.name} stopped)`);
  assert.match(daemon.output(), bGone);
  assert.match(daemon.output(), /audit: listener=serial requester=\S+ \(\S+-a\) target="\S+-b" op=off seqno=\d+ result=success/);

  await t.test("B's qemu killed: off, its socket dropped and re-opened on start, A's untouched", async () => {
    const since = daemon.output().length;
    const after = () => daemon.output().slice(since);
    await b.killQemu();
    await daemon.waitUntil(() => bGone.test(after()), `${b.name}'s socket dropped after its qemu was killed`);
    await waitUntil(async () => (await b.state()) === 'shut off', `libvirt showing ${b.name} shut off`, 30_000);

    const status = await a.exec(`fence_virt -D /dev/ttyS1 -o status -H ${b.name}`);
    assert.equal(status.exitCode, 2, `status of the killed guest (2 = off): ${status.output}`);

    const on = await a.exec(`fence_virt -D /dev/ttyS1 -o on -H ${b.name}`);
    assert.deepEqual(on, { exitCode: 0, output: '' });
    await daemon.waitForOutput(registeredLine(b, 3));
    await b.ready(3);
    const running = await a.exec(`fence_virt -D /dev/ttyS1 -o status -H ${b.name}`);
    assert.equal(running.exitCode, 0, `status after the start: ${running.output}`);

    // A's requests went over its socket the whole time; the daemon never closed, dropped or re-opened it.
    assert.doesNotMatch(after(), new RegExp(`of domain ${a.name} `));
    assert.doesNotMatch(daemon.output(), registeredLine(a, 2));
  });
});
