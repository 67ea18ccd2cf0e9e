/**
 * The test bed against the oracle: the C fence_virtd's serial listener, fed by the C fence_virt inside
 * a real guest over its ttyS1, fences another real guest through libvirt. The serial-listener work
 * repeats this with our daemon in place of the C one.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DaemonProcess } from './daemon-process.js';
import { GuestBed, qemuUnavailableReason } from './harness.js';
import { LIBVIRT_URI } from './virsh.js';

const C_DAEMON = '/usr/sbin/fence_virtd';
const skip =
  (await qemuUnavailableReason()) ??
  (existsSync(C_DAEMON) ? undefined : `${C_DAEMON} is not installed (run scripts/setup-test-env.sh)`);

/** Starts the C daemon with the serial listener on the bed's socket dir and the libvirt backend. */
async function startCSerialDaemon(bed: GuestBed): Promise<DaemonProcess> {
  const keyFile = join(bed.dir, 'key');
  const configFile = join(bed.dir, 'fence_virt.conf');
  // The serial listener never uses a key, but the C daemon refuses to start without the file.
  await writeFile(keyFile, 'unused by the serial listener\n', { mode: 0o600 });
  await writeFile(
    configFile,
    [
      'fence_virtd { listener = "serial"; backend = "libvirt"; }',
      `listeners { serial { uri = "${LIBVIRT_URI}"; path = "${bed.socketDir}"; mode = "serial"; key_file = "${keyFile}"; } }`,
      `backends { libvirt { uri = "${LIBVIRT_URI}"; } }`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  // -d 5 makes it print "Registered <uuid> on <fd>" once it has connected to a guest's socket; stdbuf
  // (which execs the daemon, keeping the PID) line-buffers its stdout so the line arrives when printed.
  const args = ['-F', '-f', configFile, '-p', join(bed.dir, 'fence_virtd.pid'), '-d', '5'];
  return DaemonProcess.start('stdbuf', ['-oL', C_DAEMON, ...args]);
}

test('guest A fences guest B through the C serial listener (list, off, on)', { skip }, async (t) => {
  const bed = await GuestBed.create();
  t.after(() => bed.cleanup());
  const b = await bed.startGuest({ role: 'b', serial: true });
  const a = await bed.startGuest({ role: 'a', serial: true, interactive: true });

  const daemon = await startCSerialDaemon(bed);
  t.after(() => daemon.stop());
  await daemon.waitForOutput(new RegExp(`Registered ${a.uuid} on`));
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
