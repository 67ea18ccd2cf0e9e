/**
 * The real C fence_xvm against the C fence_virtd and against ours, side by side on the same test-driver
 * node, in the test runner's private network namespace: every call must give the same exit code and
 * output. Each daemon has its own libvirt connection, so both see the same sequence of state changes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DaemonProcess } from '../support/daemon-process.js';
import { configText } from '../support/daemon-config-text.js';
import { C_DAEMON, OUR_DAEMON, runTool, waitUntil } from '../support/processes.js';

const NODE = fileURLToPath(new URL('../fixtures/daemon/node.xml', import.meta.url));
const UUID_A = 'd0000000-0000-4000-8000-00000000000a';
const UUID_B = 'd0000000-0000-4000-8000-00000000000b';

/** The calls compared, in order; state changes carry over from one call to the next on both sides. */
const calls: string[][] = [
  ['-o', 'list'],
  ['-o', 'list-status'],
  ['-o', 'status', '-H', 'vm-a'],
  ['-o', 'status', '-H', 'vm-off'],
  ['-o', 'status', '-H', 'no-such-vm'],
  ['-o', 'status', '-H', UUID_A],
  ['-o', 'status', '-u', '-H', UUID_A.toUpperCase()],
  ['-o', 'off', '-H', 'vm-a'],
  ['-o', 'status', '-H', 'vm-a'],
  ['-o', 'off', '-H', 'vm-a'],
  ['-o', 'on', '-H', UUID_A],
  ['-o', 'status', '-H', 'vm-a'],
  ['-o', 'reboot', '-H', 'vm-b'],
  ['-o', 'reboot', '-H', UUID_B],
  ['-o', 'status', '-H', 'vm-b'],
  ['-o', 'reboot', '-H', 'vm-off'],
  ['-o', 'off', '-H', 'no-such-vm'],
  ['-o', 'on', '-H', 'no-such-vm'],
  ['-o', 'monitor'],
  ['-o', 'null', '-H', 'vm-a'],
  ['-o', 'list'],
];

let dir: string;
let keyFile: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-diff-'));
  keyFile = join(dir, 'key');
  await writeFile(keyFile, Buffer.from('differential test key: 0123456789abcdef'), { mode: 0o600 });
});
after(() => rm(dir, { recursive: true, force: true }));

async function startDaemon(which: typeof C_DAEMON, name: string, port: number, auth: string): Promise<DaemonProcess> {
  const conf = join(dir, `${name}-${auth}.conf`);
  await writeFile(
    conf,
    configText({
      listeners: { multicast: { interface: 'lo', port: String(port), key_file: keyFile, hash: 'none', auth } },
      backendUri: `test+unix://${NODE}`,
    }),
    { mode: 0o600 },
  );
  const daemon = DaemonProcess.start(which.command, [...which.args, '-F', '-f', conf, '-p', join(dir, `${name}.pid`)]);
  await waitUntil(
    async () => (await xvm(port, ['-o', 'monitor', '-C', auth, '-t', '1'])).code === 0,
    `${name} fence_virtd answering on port ${port}\n${daemon.output()}`,
  );
  return daemon;
}

function xvm(port: number, args: string[]) {
  return runTool('/usr/sbin/fence_xvm', ['-p', String(port), '-k', keyFile, '-t', '5', '-r', '10', ...args], { timeoutMs: 20_000 });
}

for (const [i, auth] of ['sha1', 'sha256', 'sha512'].entries()) {
  describe(`fence_xvm with auth ${auth}: C fence_virtd and ours agree`, () => {
    const cPort = 24410 + i * 2;
    const ourPort = cPort + 1;
    let cDaemon: DaemonProcess;
    let ours: DaemonProcess;
    before(async () => {
      [cDaemon, ours] = await Promise.all([startDaemon(C_DAEMON, 'c', cPort, auth), startDaemon(OUR_DAEMON, 'ours', ourPort, auth)]);
    });
    after(async () => {
      await Promise.all([cDaemon?.stop(), ours?.stop()]);
    });

    for (const hash of ['none', 'sha1', 'sha256', 'sha512']) {
      it(`hash ${hash}: every call gives the same exit code and output`, async () => {
        for (const call of calls) {
          const args = [...call, '-c', hash, '-C', auth];
          const expected = await xvm(cPort, args);
          const actual = await xvm(ourPort, args);
          assert.deepEqual(
            { code: actual.code, stdout: actual.stdout },
            { code: expected.code, stdout: expected.stdout },
            `fence_xvm ${args.join(' ')}\nour daemon:\n${ours.output().slice(-2000)}`,
          );
        }
      });
    }
  });
}
