/**
 * fence_virtd processes with and without a vsock listener: beside the TCP listener in one daemon, the
 * start-up error where the kernel has no vsock, and the addon never loaded when no vsock listener is
 * configured. "No vsock" cannot be had for real here (vsock is built into this kernel), so that fault
 * is injected one level down: test/fixtures/vsock/without-vsock.c runs the daemon under a seccomp
 * filter that fails socket(AF_VSOCK) with EAFNOSUPPORT, the kernel's own answer where the vsock core is
 * missing. The daemon and the addon are real. Never connects a vsock socket.
 * Ports: vsock 25150-25159, TCP 29050-29059.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { listenVsock } from '../../src/native/vsock.js';
import { Hash, Request } from '../../src/protocol/index.js';
import { configText } from '../support/daemon-config-text.js';
import { OUR_DAEMON, runTool } from '../support/processes.js';
import { signedRequest, tcpExchange } from '../support/raw-client.js';
import { skipBecause } from '../support/requirement.js';

const NODE = fileURLToPath(new URL('../fixtures/vsock/node.xml', import.meta.url));
const LAUNCHER_SOURCE = fileURLToPath(new URL('../fixtures/vsock/without-vsock.c', import.meta.url));
const keyBytes = Buffer.from('vsock daemon test key\n');
const key = new AuthKey(keyBytes);

let dir: string;
let keyFile: string;
let withoutVsock: string | undefined;
/** Why the launcher could not be built, when it could not. */
let noCompiler = '';

async function writeConfig(name: string, listeners: Record<string, Record<string, string>>): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, configText({ listeners, backendUri: `test+unix://${NODE}` }));
  return file;
}

const tcp = (port: number) => ({ address: '127.0.0.1', port: String(port), key_file: keyFile });
const vsock = (port: number) => ({ port: String(port), key_file: keyFile });
const daemonArgs = (conf: string, name: string) => [...OUR_DAEMON.args, '-F', '-f', conf, '-p', join(dir, `${name}.pid`)];

/** A foreground daemon that is serving; stopped by its PID with SIGTERM. */
async function startDaemon(command: string, args: string[]): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!/serving with backend/.test(stderr)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      assert.fail(`daemon did not start: ${stderr}`);
    }
    await sleep(50);
  }
  return { child, stderr: () => stderr };
}

async function stopDaemon(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 0);
}

/** Whether the process has the native addon mapped: loaded means dlopen-ed, whoever asked. */
async function addonLoaded(pid: number | undefined): Promise<boolean> {
  return (await readFile(`/proc/${pid}/maps`, 'utf8')).includes('vsock.node');
}

function status(port: number, domain: string) {
  return tcpExchange(port, signedRequest({ request: Request.STATUS, domain }, key), key, Hash.SHA256);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-vsock-'));
  keyFile = join(dir, 'key');
  await writeFile(keyFile, keyBytes, { mode: 0o600 });
  const cc = await runTool('cc', ['-o', join(dir, 'without-vsock'), LAUNCHER_SOURCE]).catch((err: Error) => ({
    code: -1,
    stderr: err.message,
  }));
  if (cc.code === 0) withoutVsock = join(dir, 'without-vsock');
  else noCompiler = `cannot build the no-vsock launcher (needs a C compiler with Linux headers): ${cc.stderr}`;
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fence_virtd with a vsock listener', () => {
  it('serves vsock and TCP side by side in one process, and frees the vsock port on SIGTERM', async () => {
    const conf = await writeConfig('both.conf', { tcp: tcp(29050), vsock: vsock(25150) });
    const { child, stderr } = await startDaemon(process.execPath, daemonArgs(conf, 'both'));
    try {
      assert.match(stderr(), / vsock: listening on vsock \*:25150/);
      assert.match(stderr(), /2 listener\(s\): tcp, vsock/);
      assert.ok(await addonLoaded(child.pid), 'the vsock listener loaded the addon');
      assert.throws(() => listenVsock({ port: 25150 }), { code: 'EADDRINUSE' });
      assert.deepEqual(await status(29050, 'vm-a'), { kind: 'code', code: 0 });
    } finally {
      await stopDaemon(child);
    }
    listenVsock({ port: 25150 }).close();
  });

  it('fails to start where the kernel has no vsock, naming the listener and the cause', async (t) => {
    if (!withoutVsock) return t.skip(skipBecause(noCompiler));
    const conf = await writeConfig('novsock.conf', { tcp: tcp(29051), vsock: vsock(25151) });
    const result = await runTool(withoutVsock, [process.execPath, ...daemonArgs(conf, 'novsock')], { timeoutMs: 30_000 });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /error: listener vsock failed to start: cannot listen on vsock \*:25151: AF_VSOCK is not available in this kernel \(socket\(\) failed with EAFNOSUPPORT\): load the vsock transport module/,
    );
    assert.doesNotMatch(result.stderr, /serving with backend/);
  });

  it('starts without a vsock listener on a kernel without vsock, never loading the addon', async (t) => {
    if (!withoutVsock) return t.skip(skipBecause(noCompiler));
    const conf = await writeConfig('tcp.conf', { tcp: tcp(29052) });
    const { child } = await startDaemon(withoutVsock, [process.execPath, ...daemonArgs(conf, 'tcp')]);
    try {
      assert.deepEqual(await status(29052, 'vm-b'), { kind: 'code', code: 0 });
      assert.equal(await addonLoaded(child.pid), false);
    } finally {
      await stopDaemon(child);
    }
  });
});
