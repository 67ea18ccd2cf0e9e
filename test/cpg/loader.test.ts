/**
 * The cpg addon is optional: its install script builds it only where the corosync headers exist, and
 * the loader turns a missing build or missing corosync libraries into one clear error. Missing files are
 * real here: a private mount namespace hides them (a tmpfs over a directory, /dev/null over a library).
 */
import { needsRoot } from '../support/requirement.js';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { REPO, runTool } from '../support/processes.js';

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
const probe = `exec node --import tsx --input-type=module -e "${PROBE.replace(/"/g, '\\"')}"`;

describe('loading the cpg addon', { skip: unavailable }, () => {
  test('the addon is built on this machine (it has the corosync headers) and loads', async () => {
    assert.ok(existsSync(ADDON), `${ADDON} exists`);
    const result = await inMountNamespace(probe);
    assert.equal(result.stdout, 'imported\nloaded\n', result.stderr);
  });

  test('without the libraries, importing still works and loading says corosync is needed', async () => {
    const ldd = await runTool('ldd', [ADDON]);
    const library = /libcpg\.so\.\d+ => (\S+)/.exec(ldd.stdout)?.[1];
    assert.ok(library, `ldd names libcpg:\n${ldd.stdout}`);
    const result = await inMountNamespace(`mount --bind /dev/null '${realpathSync(library)}' && ${probe}`);
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
