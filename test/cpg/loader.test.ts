/**
 * The cpg addon is optional: its install script builds it only where the corosync headers exist, and
 * the loader turns a missing build or missing corosync libraries into one clear error. Missing files are
 * real here: a private mount namespace hides them (a tmpfs over a directory, /dev/null over a library).
 */
import { needsRoot, needsSharedLibvirtd } from '../support/requirement.js';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { configText } from '../support/daemon-config-text.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { OUR_DAEMON_BUNDLE, REPO, runTool } from '../support/processes.js';

const PACKAGE_DIR = join(REPO, 'native/cpg');
const ADDON = join(PACKAGE_DIR, 'build/Release/cpg.node');
const LOADER = join(REPO, 'src/backends/cpg/corosync.ts');
const unavailable = needsRoot('hiding files in a mount namespace');

/** Runs `shell` in a private mount namespace (what it mounts is gone when it exits). */
function inMountNamespace(shell: string, cwd = REPO) {
  return runTool('unshare', ['-m', 'sh', '-c', `cd '${cwd}' && ${shell}`], { timeoutMs: 120_000 });
}

/** A script that imports the loader, says so, then tries to load the addon and prints the outcome. */
const PROBE = [
  `const m = await import(${JSON.stringify(LOADER)});`,
  `console.log('imported');`,
  `try { m.loadCorosync(); console.log('loaded'); } catch (e) { console.log(e.code); console.log(e.message); }`,
].join(' ');
/** Where the addon finds libcpg (a bind mount of /dev/null over it hides it). */
async function libcpgPath(): Promise<string> {
  const ldd = await runTool('ldd', [ADDON]);
  const library = /libcpg\.so\.\d+ => (\S+)/.exec(ldd.stdout)?.[1];
  assert.ok(library, `ldd names libcpg:\n${ldd.stdout}`);
  return realpathSync(library);
}

const probe = `exec node --import tsx --input-type=module -e "${PROBE.replace(/"/g, '\\"')}"`;

describe('loading the cpg addon', { skip: unavailable }, () => {
  test('the addon is built on this machine (it has the corosync headers) and loads', async () => {
    assert.ok(existsSync(ADDON), `${ADDON} exists`);
    const result = await inMountNamespace(probe);
    assert.equal(result.stdout, 'imported\nloaded\n', result.stderr);
  });

  test('without the libraries, importing still works and loading says corosync is needed', async () => {
    const result = await inMountNamespace(`mount --bind /dev/null '${await libcpgPath()}' && ${probe}`);
    const [imported, code, message] = result.stdout.split('\n');
    assert.equal(imported, 'imported', result.stderr);
    assert.equal(code, 'ERR_CPG_UNAVAILABLE');
    assert.match(message ?? '', /^the cpg backend needs corosync: libcpg\.so\.\d+ cannot be loaded \(.*\); install corosync/);
  });

  test('without a build, loading says the addon is not built and how to get it', async () => {
    const result = await inMountNamespace(`mount -t tmpfs tmpfs '${join(PACKAGE_DIR, 'build')}' && ${probe}`);
    const [imported, code, message] = result.stdout.split('\n');
    assert.equal(imported, 'imported', result.stderr);
    assert.equal(code, 'ERR_CPG_UNAVAILABLE');
    assert.match(message ?? '', /^the cpg backend needs corosync: the addon @fence-virtd\/cpg is not built .*run npm ci/);
  });
});

describe('the daemon on a host without the corosync libraries', { skip: unavailable ?? needsSharedLibvirtd() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpg-nolib-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const uri = `test+unix://${fileURLToPath(new URL('../fixtures/cpg/host1.xml', import.meta.url))}`;

  /** A configuration with `backend` and a TCP listener on `port`; returns its path. */
  function config(backend: string, port: number): string {
    const key = join(dir, 'key');
    writeFileSync(key, 'no corosync libraries here\n', { mode: 0o600 });
    const file = join(dir, `${backend}.conf`);
    const listeners = { tcp: { address: '127.0.0.1', port: String(port), key_file: key } };
    writeFileSync(file, configText({ listeners, backend, backendUri: uri }), { mode: 0o600 });
    return file;
  }

  /** `fence_virtd args` in a mount namespace where libcpg is an empty file. */
  async function withoutLibcpg(args: string[]): Promise<[string, string[]]> {
    const daemon = [OUR_DAEMON_BUNDLE.command, ...OUR_DAEMON_BUNDLE.args, ...args].map((a) => `'${a}'`).join(' ');
    // unshare and sh exec the next, so the PID is the daemon's.
    return ['unshare', ['-m', 'sh', '-c', `mount --bind /dev/null '${await libcpgPath()}' && exec ${daemon}`]];
  }

  test('a daemon with the libvirt backend starts and serves', async () => {
    const [command, args] = await withoutLibcpg(['-F', '-f', config('libvirt', 31911), '-p', join(dir, 'libvirt.pid')]);
    const daemon = DaemonProcess.start(command, args);
    try {
      await daemon.waitForOutput(/serving with backend libvirt/);
      const status = await runTool(process.execPath, [
        `${REPO}dist/fence_virt`,
        ...['-T', '127.0.0.1', '-p', '31911', '-k', join(dir, 'key'), '-o', 'status', '-H', 'alpha'],
      ]);
      assert.equal(status.code, 0, status.stdout + status.stderr);
    } finally {
      await daemon.stop();
    }
  });

  test('a daemon with the cpg backend exits 1 and --check fails, both saying what to install', async () => {
    const file = config('cpg', 31912);
    const start = await runTool(...(await withoutLibcpg(['-F', '-f', file, '-p', join(dir, 'cpg.pid')])), { timeoutMs: 60_000 });
    assert.equal(start.code, 1, start.stdout + start.stderr);
    assert.match(
      start.stderr,
      /backend cpg failed to start: the cpg backend needs corosync: libcpg\.so\.\d+ cannot be loaded .*install corosync/,
    );
    const check = await runTool(...(await withoutLibcpg(['--check', '-f', file])), { timeoutMs: 60_000 });
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.match(check.stdout, /^FAIL +backend cpg \(corosync\): .*libcpg\.so\.\d+ cannot be loaded/m);
    assert.match(check.stdout, /install corosync/);
  });
});

describe('the install script of the cpg addon', { skip: unavailable }, () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A copy of the package without its build, with the repository's npm settings (node-gyp's nodedir). */
  function copyPackage(): string {
    const dir = mkdtempSync(join(tmpdir(), 'cpg-install-'));
    dirs.push(dir);
    cpSync(PACKAGE_DIR, dir, { recursive: true, filter: (source) => !source.startsWith(join(PACKAGE_DIR, 'build')) });
    cpSync(join(REPO, '.npmrc'), join(dir, '.npmrc'));
    return dir;
  }

  test('builds the addon where the corosync headers exist', async () => {
    const dir = copyPackage();
    const build = await runTool('sh', ['-c', `cd '${dir}' && npm run install`], { timeoutMs: 120_000 });
    assert.equal(build.code, 0, build.stderr);
    const load = await runTool(process.execPath, ['-e', `console.log(typeof require(${JSON.stringify(dir)}).Cpg)`]);
    assert.equal(load.stdout, 'function\n', load.stderr);
  });

  test('without the headers it builds nothing, removes an old build and succeeds', async () => {
    const dir = copyPackage();
    mkdirSync(join(dir, 'build/Release'), { recursive: true });
    writeFileSync(join(dir, 'build/Release/cpg.node'), 'stale');
    const result = await inMountNamespace('mount -t tmpfs tmpfs /usr/include/corosync && npm run install', dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /@fence-virtd\/cpg: not built, \/usr\/include\/corosync\/cpg\.h and \/usr\/include\/corosync\/votequorum\.h missing/,
    );
    assert.equal(existsSync(join(dir, 'build')), false);
  });
});
