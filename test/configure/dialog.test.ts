/**
 * `fence_virtd -c` with answers piped on stdin, for every listener and backend. Where the C dialog can
 * configure the same thing, the C `fence_virtd -c` gets the very same answers and both files must mean
 * the same to our configuration reader, apart from the C bugs we fixed (docs/compatibility.md, section
 * 'Configuration dialog'), which are asserted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatConfig, readConfigFile } from '../../src/config/index.js';
import { cDaemonMissing } from '../support/c-daemon.js';
import { cDialog, commentLines, ourDialog, SHIPPED, typedConfig } from './dialog-support.js';

const URI = 'test+unix:///default';
let dir: string;
let key: string;
let n = 0;
const freshFile = () => join(dir, `fence_virt-${++n}.conf`);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-configure-'));
  key = join(dir, 'fence_xvm.key');
  await writeFile(key, randomBytes(4096), { mode: 0o600 });
});
after(() => rm(dir, { recursive: true, force: true }));

/** Runs both dialogs with `answers` on new files; both must write. Returns the two files. */
async function bothDialogs(answers: string[]): Promise<{ ours: string; theirs: string }> {
  const ours = freshFile();
  const theirs = freshFile();
  const [a, b] = await Promise.all([ourDialog(ours, answers), cDialog(theirs, answers)]);
  assert.equal(a.code, 0, `our dialog failed:\n${a.stdout}${a.stderr}`);
  assert.equal(b.code, 0, `C dialog failed:\n${b.stdout}${b.stderr}`);
  assert.equal((await stat(ours)).mode & 0o777, 0o600);
  return { ours, theirs };
}

describe('fence_virtd -c, answers the C dialog also takes', { skip: cDaemonMissing() }, () => {
  it('multicast listener + libvirt backend: same configuration as the C dialog writes', async () => {
    const answers = ['y', '', '', '225.0.0.12', '30101', 'lo', key, '', URI, 'y'];
    const { ours, theirs } = await bothDialogs(answers);
    const config = await typedConfig(ours);
    assert.deepEqual(config, await typedConfig(theirs));
    assert.deepEqual(config.listeners, [
      {
        module: 'multicast',
        name: 'multicast',
        keyFile: key,
        hash: 2,
        auth: 2,
        port: 30101,
        family: 'ipv4',
        address: '225.0.0.12',
        interface: 'lo',
        protocol: 'auto',
        freshnessWindowMs: 30_000,
      },
    ]);
    assert.deepEqual(config.backend, { module: 'libvirt', uris: [URI] });
  });

  it('tcp listener: same configuration; the address default is 127.0.0.1, not the multicast group', async () => {
    const { ours, theirs } = await bothDialogs(['y', '', 'tcp', '127.0.0.1', '30102', key, 'libvirt', URI, 'y']);
    assert.deepEqual(await typedConfig(ours), await typedConfig(theirs));
    const defaulted = await ourDialog(freshFile(), ['y', '', 'tcp']);
    assert.match(defaulted.stdout, /TCP Listen IP Address \[127\.0\.0\.1\]: /);
    const cDefault = await cDialog(freshFile(), ['y', '', 'tcp']);
    assert.match(cDefault.stdout, /TCP Listen IP Address \[225\.0\.0\.12\]: /, 'the C dialog offers the multicast group');
  });

  it('serial listener: same configuration, except that our dialog keeps the libvirt URI the C dialog discards', async () => {
    const sockets = join(dir, 'sockets');
    await mkdir(sockets, { recursive: true });
    const { ours, theirs } = await bothDialogs(['y', '', 'serial', URI, sockets, 'vmchannel', '', URI, 'y']);
    const mine = await typedConfig(ours);
    const c = await typedConfig(theirs);
    assert.deepEqual(mine.listeners, [{ module: 'serial', name: 'serial', mode: 'vmchannel', path: sockets, uri: URI }]);
    assert.deepEqual(c.listeners, [{ module: 'serial', name: 'serial', mode: 'vmchannel', path: sockets }]);
    assert.deepEqual({ ...mine, listeners: [] }, { ...c, listeners: [] });
  });

  it('cpg backend with uuid naming: same configuration', async () => {
    const { ours, theirs } = await bothDialogs(['y', '', 'tcp', '127.0.0.1', '30103', key, 'cpg', URI, 'uuid', 'y']);
    const config = await typedConfig(ours);
    assert.deepEqual(config, await typedConfig(theirs));
    assert.deepEqual(config.backend, { module: 'cpg', uris: [URI], nameMode: 'uuid' });
  });

  it('cpg name mode asks for confirmation, like C', async () => {
    const { ours, theirs } = await bothDialogs(['y', '', 'tcp', '127.0.0.1', '30103', key, 'cpg', URI, 'name', 'y', 'y']);
    const config = await typedConfig(ours);
    assert.deepEqual(config, await typedConfig(theirs));
    assert.deepEqual(config.backend, { module: 'cpg', uris: [URI], nameMode: 'name' });
  });

  it('a file that does not parse: "Start from scratch" no stops without writing, like C', async () => {
    const file = freshFile();
    await writeFile(file, 'fence_virtd { listener = multicast; }\n');
    for (const run of [ourDialog, cDialog]) {
      const result = await run(file, ['n']);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /Parsing of .* failed/);
      assert.match(result.stdout, /Start from scratch \[y\/N\]\? /);
    }
    assert.equal(await readFile(file, 'utf8'), 'fence_virtd { listener = multicast; }\n');
  });
});

describe('fence_virtd -c, what only our dialog does', () => {
  it('vsock listener: port and key file', async () => {
    const file = freshFile();
    const result = await ourDialog(file, ['y', '', 'vsock', '30104', key, '', URI, 'y']);
    assert.equal(result.code, 0, result.stdout);
    assert.deepEqual((await typedConfig(file)).listeners, [
      { module: 'vsock', name: 'vsock', keyFile: key, hash: 2, auth: 2, port: 30104, protocol: 'auto', freshnessWindowMs: 30_000 },
    ]);
  });

  it('several listeners from one answer; an instance not named after a module is asked for its module', async () => {
    const file = freshFile();
    const sockets = join(dir, 'sockets');
    await mkdir(sockets, { recursive: true });
    const answers = [
      'y',
      '',
      'multicast, tcp serial fence-channel',
      '225.0.0.12',
      '30105',
      'none',
      key, // multicast
      '127.0.0.1',
      '30106',
      key, // tcp
      URI,
      sockets,
      'serial', // serial
      'serial',
      URI,
      sockets,
      'vmchannel', // fence-channel: its module, then the serial questions
      'libvirt',
      URI,
      'y',
    ];
    const result = await ourDialog(file, answers);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /Listener module of fence-channel \(multicast, tcp, serial, vsock\) \[none\]: /);
    const config = await typedConfig(file);
    assert.deepEqual(
      config.listeners.map((l) => [l.name, l.module, l.module === 'serial' ? l.mode : l.port]),
      [
        ['multicast', 'multicast', 30105],
        ['tcp', 'tcp', 30106],
        ['serial', 'serial', 'serial'],
        ['fence-channel', 'serial', 'vmchannel'],
      ],
    );
    const text = await readFile(file, 'utf8');
    assert.match(text, /listener = "multicast tcp serial fence-channel";/);
    assert.match(text, /fence-channel \{\n\t\tmodule = "serial";/);
  });

  it('rerunning with every default keeps the file as it was: order, other blocks, groups (the C dialog reverses it)', async () => {
    const file = freshFile();
    const original = [
      'fence_virtd {',
      '\tbackend = "libvirt";',
      '\tlistener = "tcp";',
      '\tmodule_path = "/usr/lib/x86_64-linux-gnu/fence-virt";',
      '}',
      '',
      'listeners {',
      '\ttcp {',
      `\t\tkey_file = "${key}";`,
      '\t\tport = "30107";',
      '\t\taddress = "127.0.0.1";',
      '\t\tfamily = "ipv4";',
      '\t}',
      '\tmulticast {',
      '\t\tport = "30108";',
      '\t}',
      '}',
      '',
      'backends {',
      '\tlibvirt {',
      `\t\turi = "${URI}";`,
      '\t}',
      '}',
      '',
      'groups {',
      '\tgroup {',
      '\t\tname = "g";',
      '\t\tip = "127.0.0.1";',
      '\t\tuuid = "test";',
      '\t}',
      '}',
      '',
    ].join('\n');
    await writeFile(file, original, { mode: 0o644 });
    const before = formatConfig(readConfigFile(file));
    const result = await ourDialog(file, ['', '', '', '', '', '', '', 'y']);
    assert.equal(result.code, 0, result.stdout);
    assert.equal(await readFile(file, 'utf8'), before);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('a change to the shipped configuration keeps its comments; the file as it was is kept as .bak', async () => {
    const file = freshFile();
    await copyFile(SHIPPED, file);
    // Module path, listener, address, port: as they are; interface lo; key file, backend, URI: as they are.
    const result = await ourDialog(file, ['', '', '', '', 'lo', '', '', '', 'y']);
    assert.equal(result.code, 0, result.stdout);
    const listeners = (await typedConfig(file)).listeners;
    assert.deepEqual(
      listeners.map((l) => l.module === 'multicast' && l.interface),
      ['lo'],
    );
    const shipped = await readFile(SHIPPED, 'utf8');
    assert.ok(commentLines(shipped).length >= 3);
    assert.deepEqual(commentLines(await readFile(file, 'utf8')), commentLines(shipped), 'the comments are kept');
    assert.equal(await readFile(`${file}.bak`, 'utf8'), shipped);
  });

  it('refuses bad answers and asks again; C number prefixes are read as C reads them', async () => {
    const file = freshFile();
    const answers = [
      'y',
      '',
      'tcp',
      'not-an-address',
      '127.0.0.1',
      '0',
      '70000',
      '1229x',
      '0x4cd', // C stores '0x4cd' as typed, which its own daemon reads as 0; we store 1229
      'relative.key',
      'n',
      key,
      'xen',
      'libvirt',
      URI,
      'y',
    ];
    const result = await ourDialog(file, answers);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /'not-an-address' is not an IPv4 or IPv6 address\./);
    assert.equal(result.stdout.match(/Invalid port/g)?.length, 3);
    assert.match(result.stdout, /'relative\.key' is a relative path.*Use anyway \[Y\/n\]\? n/);
    assert.match(result.stdout, /No backend module named 'xen'/);
    const [tcp] = (await typedConfig(file)).listeners;
    assert.deepEqual(tcp?.module === 'tcp' && [tcp.address, tcp.port, tcp.keyFile], ['127.0.0.1', 1229, key]);
  });

  it('multicast: only group addresses; an interface that does not exist needs a yes', async () => {
    const file = freshFile();
    const answers = ['y', '', '', '10.1.2.3', 'ff05::3:1', '30109', 'no-such-if0', 'n', 'no-such-if0', 'y', key, '', URI, 'y'];
    const result = await ourDialog(file, answers);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /'10\.1\.2\.3' is not a multicast group/);
    assert.match(result.stdout, /Using ipv6 as family\./);
    assert.equal(result.stdout.match(/There is no interface no-such-if0 on this host now\. Use this value anyway \[y\/N\]\?/g)?.length, 2);
    const [mc] = (await typedConfig(file)).listeners;
    assert.deepEqual(mc?.module === 'multicast' && [mc.family, mc.address, mc.interface], ['ipv6', 'ff05::3:1', 'no-such-if0']);
  });

  it('serial: an invalid mode is asked again; none leaves the directory out', async () => {
    const file = freshFile();
    const result = await ourDialog(file, ['y', '', 'serial', URI, 'none', 'console', 'serial', '', URI, 'y']);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /Invalid mode 'console'/);
    assert.deepEqual((await typedConfig(file)).listeners, [{ module: 'serial', name: 'serial', mode: 'serial', uri: URI }]);
  });

  it('end of input takes every default, and the final question defaults to no', async () => {
    const file = freshFile();
    const result = await ourDialog(file, ['y']);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /Replace .* with the above \[y\/N\]\? \n$/);
    assert.match(result.stdout, /=== Begin Configuration ===\nfence_virtd \{\n\tlistener = "multicast";\n\tbackend = "libvirt";\n\}/);
    assert.equal(existsSync(file), false);
  });

  it('the default it offers for an invalid current value cannot be taken at end of input', async () => {
    const file = freshFile();
    await writeFile(file, 'fence_virtd { listener = "tcp"; backend = "libvirt"; }\nlisteners { tcp { port = "99999"; } }\n', {
      mode: 0o600,
    });
    const result = await ourDialog(file, ['', '', '127.0.0.1']);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /Invalid port '99999'/);
    assert.match(result.stdout, /the input ended without an acceptable answer to 'TCP Listen Port'; .* was not changed\./);
  });

  it('a second listener offers the key file just given for the first; a rewrite keeps the old file as .bak', async () => {
    const file = freshFile();
    const answers = ['y', '', 'multicast tcp', '', '30112', 'none', key, '127.0.0.1', '30113', '', '', URI, 'y'];
    const result = await ourDialog(file, answers);
    assert.equal(result.code, 0, result.stdout);
    assert.ok(result.stdout.includes(`Key File [${key}]: \n`), 'the tcp prompt offers the multicast key');
    const config = await typedConfig(file);
    assert.deepEqual(
      config.listeners.map((l) => [l.name, l.module === 'serial' ? undefined : l.keyFile]),
      [
        ['multicast', key],
        ['tcp', key],
      ],
    );
    assert.equal(existsSync(`${file}.bak`), false, 'nothing to back up the first time');
    const first = await readFile(file, 'utf8');
    const rerun = await ourDialog(file, ['', '', '', '', '', '', '', '', '', '', '', 'y']);
    assert.equal(rerun.code, 0, rerun.stdout);
    assert.match(rerun.stdout, new RegExp(`the previous file is ${file}\\.bak`));
    assert.equal(await readFile(`${file}.bak`, 'utf8'), first);
    assert.equal((await stat(`${file}.bak`)).mode & 0o777, 0o600);
  });

  it('warns before writing a configuration the daemon would refuse', async () => {
    const file = freshFile();
    // Two listeners on one TCP port: each answer is fine, the combination is not.
    const result = await ourDialog(file, ['y', '', 'tcp other', '127.0.0.1', '30110', key, 'tcp', '127.0.0.1', '30110', key, '', URI, 'n']);
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      /Warning: fence_virtd will not start with this configuration: listeners 'tcp' and 'other' would both use tcp 127\.0\.0\.1 port 30110/,
    );
    assert.equal(existsSync(file), false);
  });
});
