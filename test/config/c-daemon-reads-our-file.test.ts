import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readConfigFile, setValue, writeConfigFile, type ConfigDocument } from '../../src/config/index.js';
import { toDaemonConfig } from '../../src/daemon-config/index.js';
import { C_FENCE_VIRTD } from '../support/c-daemon.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { needsSharedLibvirtd, needsTools } from '../support/requirement.js';

const C_CLIENT = '/usr/sbin/fence_virt';
const PORT = 26020;
const skip = needsTools(C_FENCE_VIRTD, C_CLIENT) ?? needsSharedLibvirtd();

function runClient(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(C_CLIENT, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

test('the real C fence_virtd runs from a file written by our writer (TCP listener, libvirt test driver)', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fv-config-c-daemon-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const keyFile = join(dir, 'fence_xvm.key');
  await writeFile(keyFile, randomBytes(128), { mode: 0o600 });

  const file = join(dir, 'fence_virt.conf');
  const document: ConfigDocument = { file, items: [] };
  setValue(document, 'fence_virtd/@listener', 'tcp');
  setValue(document, 'fence_virtd/@backend', 'libvirt');
  setValue(document, 'listeners/multicast/@port', '26021'); // a listener not in use, only to be carried along
  setValue(document, 'listeners/tcp/@address', '127.0.0.1');
  setValue(document, 'listeners/tcp/@port', String(PORT));
  setValue(document, 'listeners/tcp/@key_file', keyFile);
  setValue(document, 'backends/libvirt/@uri', 'test+unix:///default');
  setValue(document, 'groups/group/@ip', '127.0.0.1');
  setValue(document, 'groups/group/@uuid', 'test');
  await writeConfigFile(file, document);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.deepEqual(
    toDaemonConfig(readConfigFile(file)).listeners.map((l) => l.module === 'tcp' && [l.address, l.port, l.keyFile]),
    [['127.0.0.1', PORT, keyFile]],
  );

  const daemon = DaemonProcess.start(C_FENCE_VIRTD, ['-F', '-f', file, '-p', join(dir, 'fence_virtd.pid')]);
  t.after(() => daemon.stop());

  // The C daemon prints nothing when it is ready: ask it until it answers.
  const base = ['-T', '127.0.0.1', '-p', String(PORT), '-k', keyFile];
  let list = await runClient([...base, '-o', 'list']);
  for (const deadline = Date.now() + 20_000; list.code !== 0 && Date.now() < deadline;) {
    await sleep(200);
    list = await runClient([...base, '-o', 'list']);
  }
  assert.equal(list.code, 0, `fence_virt -o list failed: ${list.stderr}\nfence_virtd output:\n${daemon.output()}`);
  assert.match(list.stdout, /^test\s+[0-9a-f-]{36} on$/m);

  const status = await runClient([...base, '-o', 'status', '-H', 'test']);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  // The group in our file allows only "test" for 127.0.0.1: anything else is refused (3 = permission denied).
  const refused = await runClient([...base, '-o', 'status', '-H', 'other-vm']);
  assert.equal(refused.code, 3, refused.stdout + refused.stderr);
});
