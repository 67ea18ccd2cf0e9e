/**
 * `fence_virtd --set PATH=VALUE` (with or without -c): the configuration changed without questions,
 * as a process, on a copy of the shipped configuration and on a file that does not exist yet.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getValue, readConfigFile } from '../../src/config/index.js';
import { OUR_DAEMON, REPO, runTool } from '../support/processes.js';
import { commentLines, SHIPPED, typedConfig } from './dialog-support.js';

let dir: string;
let n = 0;

const configure = (file: string, ...args: string[]) =>
  runTool(OUR_DAEMON.command, [...OUR_DAEMON.args, ...args, '-f', file], { timeoutMs: 30_000 });

async function shippedCopy(): Promise<string> {
  const file = join(dir, `fence_virt-${++n}.conf`);
  await copyFile(SHIPPED, file);
  return file;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-set-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('fence_virtd --set', () => {
  it('changes and removes keys of the shipped configuration, keeps the rest, and backs the old file up', async () => {
    const file = await shippedCopy();
    const result = await configure(
      file,
      '-c',
      '--set',
      'listeners/multicast/interface=none',
      '--set=backends/libvirt/uri=test+unix:///default',
      '--set',
      'listeners/multicast/port=1230',
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, new RegExp(`Wrote ${file} \\(the previous file is ${file}\\.bak\\)`));
    const config = await typedConfig(file);
    assert.deepEqual(
      config.listeners.map((l) => [l.name, l.module === 'multicast' ? [l.address, l.port, l.interface] : undefined]),
      [['multicast', ['225.0.0.12', 1230, undefined]]],
    );
    assert.deepEqual(config.backend.uris, ['test+unix:///default']);
    assert.equal(await readFile(`${file}.bak`, 'utf8'), await readFile(SHIPPED, 'utf8'), 'the backup is the file as it was');
    const shippedComments = commentLines(await readFile(SHIPPED, 'utf8'));
    assert.ok(shippedComments.length >= 3);
    assert.deepEqual(commentLines(await readFile(file, 'utf8')), shippedComments, 'the comments are kept');
    for (const f of [file, `${file}.bak`]) assert.equal((await stat(f)).mode & 0o777, 0o600, f);
  });

  it('needs no -c, and writes a new file from settings alone', async () => {
    const file = join(dir, 'new.conf');
    const result = await configure(
      file,
      '--set',
      'fence_virtd/listener=tcp',
      '--set',
      'fence_virtd/backend=libvirt',
      '--set',
      'listeners/tcp/port=30431',
      '--set',
      'backends/libvirt/uri=test+unix:///default',
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /does not exist yet; starting a new one/);
    assert.equal(existsSync(`${file}.bak`), false, 'nothing to back up');
    const config = await typedConfig(file);
    assert.deepEqual(
      config.listeners.map((l) => [l.module, l.module === 'tcp' ? l.port : undefined]),
      [['tcp', 30431]],
    );
  });

  it("the README's examples are keys of the shipped configuration and set what they say", async () => {
    const readme = await readFile(`${REPO}README.md`, 'utf8');
    const examples = [...readme.matchAll(/`((?:fence_virtd|listeners|backends|groups)\/[^`=\s]+)=([^`\s]*)`/g)];
    assert.ok(examples.length >= 2, 'README.md shows --set examples');
    for (const [, path = '', value = ''] of examples) {
      const file = await shippedCopy();
      const result = await configure(file, '--set', `${path}=${value}`);
      assert.equal(result.code, 0, `${path}: ${result.stdout}${result.stderr}`);
      assert.doesNotMatch(result.stdout, /^Warning/m, path);
      const key = path.replace(/\/([^/]+)$/, '/@$1');
      assert.equal(getValue(readConfigFile(file), key), value, path);
    }
  });

  it('leaves the file alone when the result would not start or a setting is malformed', async () => {
    const file = await shippedCopy();
    for (const setting of ['fence_virtd/listener=nosuch', 'interface=virbr0', 'listeners/multicast/port="1"']) {
      const result = await configure(file, '--set', setting);
      assert.equal(result.code, 1, `${setting}: ${result.stdout}`);
      assert.match(result.stdout, /was not changed\.$/m, setting);
      assert.equal(await readFile(file, 'utf8'), await readFile(SHIPPED, 'utf8'), setting);
      assert.equal(existsSync(`${file}.bak`), false, setting);
    }
    const typo = await configure(file, '--set', 'listeners/multicast/interfce=virbr0');
    assert.equal(typo.code, 0);
    assert.match(typo.stdout, /^Warning: .*interfce/m, 'a key fence_virtd does not know is pointed out');
  });
});
