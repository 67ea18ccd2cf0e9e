/**
 * Files written by our `fence_virtd -c` run the real C fence_virtd: for each listener the C daemon
 * has (one at a time, as it supports), it starts from the file, reads every key we wrote, and for the
 * network listeners answers the C agents.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CDaemon, cDaemonMissing, type ReadySignal } from '../support/c-daemon.js';
import { runTool, waitUntil } from '../support/processes.js';
import { ourDialog, typedConfig } from './dialog-support.js';

const URI = 'test+unix:///default';
let dir: string;
let key: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-configure-c-'));
  key = join(dir, 'fence_xvm.key');
  await writeFile(key, randomBytes(4096), { mode: 0o600 });
});
after(() => rm(dir, { recursive: true, force: true }));

/** Writes `name`.conf with our dialog, runs the C daemon on it until `ready`, then `use`s it. */
async function withCDaemon(name: string, answers: string[], ready: ReadySignal, use: (daemon: CDaemon) => Promise<void>): Promise<void> {
  const configFile = join(dir, `${name}.conf`);
  const written = await ourDialog(configFile, answers);
  assert.equal(written.code, 0, written.stdout);
  await typedConfig(configFile); // our reader accepts it too
  const daemon = new CDaemon({ dir, keyFile: key, configFile, pidFile: join(dir, `${name}.pid`) }, ['-d', '5'], false);
  try {
    await daemon.waitReady(ready, 20_000);
    await use(daemon);
    // The file was written 0600, so the C daemon had nothing to fix (it would chmod it silently:
    // docs/compatibility.md, row 'key and configuration file modes').
    assert.doesNotMatch(daemon.output(), /Insecure permissions/);
  } finally {
    await daemon.stop();
  }
}

async function listUntilAnswered(command: string, args: string[]): Promise<string> {
  let stdout = '';
  await waitUntil(async () => {
    const result = await runTool(command, [...args, '-o', 'list'], { timeoutMs: 15_000 });
    stdout = result.stdout;
    return result.code === 0;
  }, `${command} -o list answered`);
  return stdout;
}

describe('the C fence_virtd runs from files our dialog wrote', { skip: cDaemonMissing() }, () => {
  it('multicast on lo: the C fence_xvm lists the domains', async () => {
    const port = 30120;
    await withCDaemon(
      'multicast',
      ['y', '', 'multicast', '225.0.0.12', String(port), 'lo', key, 'libvirt', URI, 'y'],
      { listening: { protocol: 'udp', port } },
      async (daemon) => {
        const list = await listUntilAnswered('/usr/sbin/fence_xvm', ['-a', '225.0.0.12', '-p', String(port), '-k', key, '-t', '5']);
        assert.match(list, /^test\s+[0-9a-f-]{36} on$/m);
        assert.match(daemon.output(), new RegExp(`Got ${key} for key_file`));
      },
    );
  });

  it('tcp: the C fence_virt lists the domains', async () => {
    const port = 30121;
    await withCDaemon(
      'tcp',
      ['y', '', 'tcp', '127.0.0.1', String(port), key, 'libvirt', URI, 'y'],
      { listening: { protocol: 'tcp', port } },
      async () => {
        const list = await listUntilAnswered('/usr/sbin/fence_virt', ['-T', '127.0.0.1', '-p', String(port), '-k', key, '-t', '5']);
        assert.match(list, /^test\s+[0-9a-f-]{36} on$/m);
      },
    );
  });

  it('serial: the C daemon reads the URI, directory and mode we stored', async () => {
    const sockets = join(dir, 'sockets');
    await mkdir(sockets, { recursive: true });
    // The C daemon wants a key file even for serial, and our dialog keeps a key_file already in the
    // file (docs/compatibility.md, row 'key file of the serial listener').
    const configFile = join(dir, 'serial.conf');
    await writeFile(configFile, `listeners { serial { key_file = "${key}"; } }\n`, { mode: 0o600 });
    await withCDaemon(
      'serial',
      ['', 'serial', URI, sockets, 'vmchannel', 'libvirt', URI, 'y'],
      { output: /Registering domain event cbs/ },
      async (daemon) => {
        const output = daemon.output();
        assert.match(output, new RegExp(`Got ${URI.replace(/[+]/g, '\\+')} for uri`));
        assert.match(output, new RegExp(`Got ${sockets} for path`));
        assert.match(output, / \* Mode: VMChannel/);
      },
    );
  });
});
