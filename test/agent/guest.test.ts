/**
 * Our fence_virt inside a real guest (qemu TCG under libvirtd, the host's root shared read-only), on
 * the two guest-side devices Pacemaker configures: a virtio-serial port (/dev/virtio-ports/NAME, not a
 * tty: opened as a character device through the native addon) and the emulated UART /dev/ttyS1 (a
 * tty: through serialport, with the C agent's speed, framing and flow control). The real C fence_virtd
 * serial listener answers (vmchannel and serial mode) and fences a second real guest. The C agent is
 * run on the virtio-serial port too: it cannot open it, which is why ours does not treat it as a tty.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FENCE_CHANNEL, GuestBed, qemuUnavailableReason, repoRoot, shellCommand, type Guest } from '../guests/harness.js';
import { LIBVIRT_URI } from '../guests/virsh.js';
import { cDaemonMissing, startCDaemon, type CDaemon } from '../support/c-daemon.js';
import { configText } from '../support/daemon-config-text.js';
import { C_AGENT } from './agents.js';

const skip = (await qemuUnavailableReason()) ?? cDaemonMissing();

const PORT = `/dev/virtio-ports/${FENCE_CHANNEL}`;

/** The C serial listener in `mode` on the bed's sockets, ready once it has connected to `guest`'s device. */
function serialDaemon(bed: GuestBed, guest: Guest, mode: 'serial' | 'vmchannel'): Promise<CDaemon> {
  return startCDaemon({
    config: ({ keyFile }) =>
      configText({ listeners: { serial: { uri: LIBVIRT_URI, path: bed.socketDir, mode, key_file: keyFile } }, backendUri: LIBVIRT_URI }),
    args: ['-d', '5'],
    ready: { output: new RegExp(`Registered ${guest.uuid} on`) },
  });
}

test('fence_virt in a guest over virtio-serial and ttyS1, against the C serial listener', { skip }, async (t) => {
  const bed = await GuestBed.create();
  t.after(() => bed.cleanup());
  const b = await bed.startGuest({ role: 'b' });
  const a = await bed.startGuest({ role: 'a', hostRoot: true, serial: true, channels: [FENCE_CHANNEL], interactive: true });
  const daemons = await Promise.all([serialDaemon(bed, a, 'vmchannel'), serialDaemon(bed, a, 'serial')]);
  t.after(() => Promise.all(daemons.map((d) => d.stop())));
  await b.ready();

  /** Runs our fence_virt in guest a; stdout only, unless `withStderr`. */
  const ours = (args: string[], stdin?: string, withStderr = false) => {
    const agent = shellCommand([process.execPath, '--import', 'tsx', 'src/bin/fence_virt.ts', ...args]);
    const input = stdin === undefined ? '' : `printf %s ${shellCommand([stdin])} | `;
    return a.exec(`cd ${shellCommand([repoRoot])} && ${input}${agent}${withStderr ? ' 2>&1' : ' 2>/dev/null'}`);
  };

  assert.deepEqual(await ours(['-D', PORT, '-o', 'status', '-H', b.name]), { exitCode: 0, output: 'Status: ON\n' });
  const list = await ours(['-D', PORT, '-o', 'list']);
  assert.equal(list.exitCode, 0);
  assert.match(list.output, new RegExp(`^${b.name} +${b.uuid} on$`, 'm'));
  assert.match(list.output, new RegExp(`^${a.name} +${a.uuid} on$`, 'm'));

  assert.deepEqual(await ours(['-D', '/dev/ttyS1', '-P', '115200,8N1', '-o', 'status', '-H', b.uuid]), {
    exitCode: 0,
    output: 'Status: ON\n',
  });
  assert.deepEqual(await ours(['-D', PORT, '-o', 'off', '-H', b.name]), { exitCode: 0, output: '' });
  assert.equal(await b.state(), 'shut off');
  assert.deepEqual(await ours(['-D', '/dev/ttyS1', '-o', 'status', '-H', b.name]), { exitCode: 2, output: 'Status: OFF\n' });
  assert.deepEqual(await ours([], `agent=fence_virt\naction=on\nport=${b.name}\nserial_device=${PORT}\n`), { exitCode: 0, output: '' });
  assert.equal(await b.state(), 'running');

  // The C agent programs the port as a tty and fails (exit 255).
  const c = await a.exec(shellCommand([C_AGENT.fence_virt, '-D', PORT, '-o', 'status', '-H', b.name]) + ' 2>&1');
  assert.equal(c.exitCode, 255, c.output);
  assert.match(c.output, /tcsetattr: Inappropriate ioctl for device/);
});
