/**
 * `npm run rpm` in a copy of the tree: the package's file list, modes, config files, requirements and
 * scriptlets as rpm reports them; then the package unpacked into a scratch root (rpm2cpio | cpio) and
 * its programs run from there: fence_virtd --check against a real libvirtd, the agents' metadata, the
 * vsock addon loaded from the package's own node_modules.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readConfigFile } from '../../src/config/index.js';
import { toDaemonConfig } from '../../src/daemon-config/index.js';
import { runTool, waitUntil } from '../support/processes.js';
import { needsTools } from '../support/requirement.js';
import { scratchTree, type ScratchTree } from './scratch-tree.js';

const TCP_PORT = 30400;
const VSOCK_PORT = 30401;
const skip = needsTools('rpmbuild', 'rpm2cpio', 'cpio');

let tree: ScratchTree | undefined;
let treeDir: string;
let rpmFile: string;
let root: string;

async function rpm(...args: string[]): Promise<string> {
  const result = await runTool('rpm', [...args, rpmFile]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

describe('npm run rpm', { skip, timeout: 300_000 }, () => {
  before(async () => {
    tree = await scratchTree('fvd-rpm-');
    treeDir = tree.dir;
    const built = await runTool('npm', ['--prefix', treeDir, 'run', 'rpm'], { timeoutMs: 240_000 });
    assert.equal(built.code, 0, built.stdout + built.stderr);
    const rpms = readdirSync(join(treeDir, 'dist/rpm')).filter((f) => f.endsWith('.rpm'));
    assert.equal(rpms.length, 1, `one package expected in dist/rpm: ${rpms.join(', ')}`);
    rpmFile = join(treeDir, 'dist/rpm', rpms[0] as string);
    root = join(treeDir, 'root');
    await mkdir(root);
    const unpacked = await runTool('sh', ['-c', 'cd "$1" && rpm2cpio "$2" | cpio -idm --quiet', 'unpack', root, rpmFile]);
    assert.equal(unpacked.code, 0, unpacked.stderr);
  });
  // The tree, and with it the package and the unpacked root, goes when the suite ends.
  after(() => tree?.remove());

  it("is named after the version and this machine's architecture", async () => {
    const version = JSON.parse(await readFile(join(treeDir, 'package.json'), 'utf8')).version as string;
    assert.equal(rpmFile.split('/').at(-1), `fence-virtd-${version}-1.x86_64.rpm`);
  });

  it('lists the programs, the addons, the unit, the configuration and the man pages (rpm -qlp)', async () => {
    const files = (await rpm('-qlp')).split('\n');
    for (const expected of [
      '/usr/sbin/fence_virtd',
      '/usr/sbin/fence_xvm',
      '/usr/sbin/fence_virt',
      '/usr/lib/fence-virtd/fence_virtd',
      '/usr/lib/fence-virtd/package.json',
      '/usr/lib/fence-virtd/node_modules/@fence-virtd/vsock/package.json',
      '/usr/lib/fence-virtd/node_modules/@fence-virtd/vsock/index.cjs',
      '/usr/lib/fence-virtd/node_modules/@fence-virtd/vsock/build/Release/vsock.node',
      '/usr/lib/fence-virtd/node_modules/serialport/package.json',
      '/usr/lib/systemd/system/fence_virtd.service',
      '/etc/sysconfig/fence_virtd',
      '/etc/fence_virt.conf',
      '/usr/share/man/man8/fence_virtd.8.gz',
      '/usr/share/man/man5/fence_virt.conf.5.gz',
      '/usr/share/man/man8/fence_xvm.8.gz',
      '/usr/share/man/man8/fence_virt.8.gz',
    ]) {
      assert.ok(files.includes(expected), `${expected} is not in the package`);
    }
    // Only this platform's native code: no other OS, CPU or libc, and no addon sources.
    const natives = files.filter((f) => f.endsWith('.node'));
    assert.deepEqual(natives, [
      '/usr/lib/fence-virtd/node_modules/@fence-virtd/vsock/build/Release/vsock.node',
      '/usr/lib/fence-virtd/node_modules/@serialport/bindings-cpp/prebuilds/linux-x64/@serialport+bindings-cpp.glibc.node',
    ]);
    assert.equal(files.filter((f) => f.includes('/@fence-virtd/vsock/src/')).length, 0);
  });

  it('has the configuration as %config(noreplace) 0600, node >= 20, and systemd scriptlets', async () => {
    assert.deepEqual((await rpm('-qcp')).trim().split('\n').sort(), ['/etc/fence_virt.conf', '/etc/sysconfig/fence_virtd']);
    assert.match(await rpm('-qlvp'), /^-rw------- +1 root +root .* \/etc\/fence_virt\.conf$/m);
    const flags = await rpm('-qp', '--qf', '[%{FILENAMES} %{FILEFLAGS:fflags}\n]');
    assert.match(flags, /^\/etc\/fence_virt\.conf cn$/m, 'config + noreplace');
    const requires = await rpm('-qp', '--requires');
    assert.match(requires, /^nodejs >= 20$/m);
    assert.doesNotMatch(requires, /musl|libc\+\+/);
    const scripts = await rpm('-qp', '--scripts');
    assert.match(scripts, /postinstall scriptlet[\s\S]*systemctl --no-reload preset fence_virtd\.service/);
    assert.match(scripts, /preuninstall scriptlet[\s\S]*systemctl --no-reload disable --now fence_virtd\.service/);
    assert.match(scripts, /postuninstall scriptlet[\s\S]*systemctl try-restart fence_virtd\.service/);
  });

  it('unpacked: fence_virtd --check passes on a good configuration, with the vsock addon from the package', async () => {
    const dir = join(treeDir, 'conf');
    await mkdir(dir);
    const key = join(dir, 'key');
    await writeFile(key, randomBytes(4096), { mode: 0o600 });
    const file = join(dir, 'fence_virt.conf');
    await writeFile(
      file,
      'fence_virtd { listener = "tcp vsock"; backend = "libvirt"; }\n' +
        `listeners { tcp { address = "127.0.0.1"; port = "${TCP_PORT}"; key_file = "${key}"; } vsock { port = "${VSOCK_PORT}"; key_file = "${key}"; } }\n` +
        'backends { libvirt { uri = "test+unix:///default"; } }\n',
      { mode: 0o600 },
    );
    const result = await runTool(join(root, 'usr/sbin/fence_virtd'), ['--check', '-f', file]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^OK +libvirt test\+unix:\/\/\/default .*connected/m);
    assert.match(result.stdout, /^OK +listener vsock \(vsock port 30401\): the port can be bound$/m);
    assert.match(result.stdout, /no failures: 5 OK, 0 WARN, 0 FAIL/);
    const version = await runTool(join(root, 'usr/sbin/fence_virtd'), ['-V']);
    assert.match(version.stdout, /^fence_virtd \d+\.\d+\.\d+ /, 'the program name comes from the /usr/sbin link');
  });

  it('unpacked: fence_xvm and fence_virt print their metadata', async () => {
    for (const agent of ['fence_xvm', 'fence_virt']) {
      const result = await runTool(join(root, 'usr/sbin', agent), ['-o', 'metadata']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^<resource-agent name="${agent}" shortdesc=`, 'm'));
      assert.match(result.stdout, /<parameter name="key_file"/);
    }
  });

  it('unpacked: fence_virt opens a tty through the packaged serialport', { skip: needsTools('/usr/bin/socat') }, async (t) => {
    const pty = join(treeDir, 'pty');
    // A pty pair with nothing answering: the agent must get as far as waiting for the host's answer.
    const socat = spawn('socat', [`pty,raw,echo=0,link=${pty}`, `pty,raw,echo=0,link=${pty}-peer`], { stdio: 'ignore' });
    t.after(() => socat.kill());
    await waitUntil(async () => existsSync(pty), 'socat made the pty');
    const result = await runTool(join(root, 'usr/sbin/fence_virt'), ['-D', pty, '-o', 'list', '-t', '1']);
    assert.equal(result.code, 255);
    assert.doesNotMatch(result.stdout + result.stderr, /Cannot find package|ERR_MODULE_NOT_FOUND/);
    assert.match(result.stderr, /no answer from fence_virtd within 1 s/);
  });

  it('unpacked: the default /etc/fence_virt.conf is one the daemon reads', async () => {
    const config = toDaemonConfig(await readConfigFile(join(root, 'etc/fence_virt.conf')));
    assert.deepEqual(
      config.listeners.map((l) => l.module === 'multicast' && [l.address, l.port, l.interface, l.keyFile]),
      [['225.0.0.12', 1229, 'virbr0', '/etc/cluster/fence_xvm.key']],
    );
    assert.deepEqual(config.backend, { module: 'libvirt', uris: ['qemu:///system'] });
  });
});
