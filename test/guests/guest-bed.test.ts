/**
 * The guest test bed itself: a guest runs host programs (Node) chrooted into the 9p-shared host root,
 * sees its virtio-serial channel by name, carries bytes both ways over it, and reports commands'
 * output and exit codes faithfully.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { FENCE_CHANNEL, GuestBed, qemuUnavailableReason, runInGuest, shellCommand } from './harness.js';

const skip = await qemuUnavailableReason();

test('a one-shot guest runs the host Node chrooted into the host root and sees its channel', { skip }, async (t) => {
  const bed = await GuestBed.create();
  t.after(() => bed.cleanup());
  const node = shellCommand([process.execPath, '-e', 'console.log(process.version)']);
  const result = await runInGuest(bed, {
    command: `${node} && readlink /dev/virtio-ports/${FENCE_CHANNEL}`,
    hostRoot: true,
    channels: [FENCE_CHANNEL],
  });
  assert.equal(result.exitCode, 0, result.console);
  const [version, port] = result.output.split('\n');
  assert.equal(version, process.version);
  assert.match(port ?? '', /^\.\.\/vport\dp1$/);
});

test('an interactive guest exchanges bytes over a virtio-serial channel and reports exit codes', { skip }, async (t) => {
  const bed = await GuestBed.create();
  t.after(() => bed.cleanup());
  const guest = await bed.startGuest({ role: 'a', hostRoot: true, channels: [FENCE_CHANNEL], interactive: true });
  const channelPath = guest.channelPaths.get(FENCE_CHANNEL);
  assert.ok(channelPath);

  // The host end: answer the guest's line with one of our own.
  const host = connect(channelPath);
  t.after(() => host.destroy());
  let fromGuest = '';
  host.on('data', (chunk) => {
    fromGuest += chunk.toString();
    if (fromGuest.endsWith('\n')) host.write('hello-from-host\n');
  });

  const port = `/dev/virtio-ports/${FENCE_CHANNEL}`;
  const echo = await guest.exec(`exec 3<>${port}; echo hello-from-guest >&3; read -r reply <&3; echo "reply:$reply"`);
  assert.deepEqual(echo, { exitCode: 0, output: 'reply:hello-from-host\n' });
  assert.equal(fromGuest, 'hello-from-guest\n');

  const failing = await guest.exec('echo out; echo err >&2; exit 3');
  assert.deepEqual(failing, { exitCode: 3, output: 'out\nerr\n' });
  // Output is exact: the marker's own newline is not added to it.
  assert.deepEqual(await guest.exec('printf partial'), { exitCode: 0, output: 'partial' });
});
