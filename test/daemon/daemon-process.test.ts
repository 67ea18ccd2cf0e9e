/**
 * Our fence_virtd as an administrator runs it: options, background mode and its pid file, a second
 * instance, SIGHUP reloading the key, SIGTERM stopping cleanly, broken configurations.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { configText, type ConfigTextOptions } from '../support/daemon-config-text.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { OUR_DAEMON, procStatusNumber, runTool, waitUntil } from '../support/processes.js';

const PORT = 24501;
let dir: string;
let conf: string;
let keyFile: string;
let pidFile: string;

/** These tests' configuration: a TCP listener on PORT with the key file, the test driver's default node. */
const tcpConfig = (groups?: ConfigTextOptions['groups']) =>
  configText({
    listeners: { tcp: { address: '127.0.0.1', port: String(PORT), key_file: keyFile } },
    backendUri: 'test+unix:///default',
    ...(groups ? { groups } : {}),
  });
const daemon = (...args: string[]) => runTool(OUR_DAEMON.command, [...OUR_DAEMON.args, ...args], { timeoutMs: 30_000 });
const status = (key = keyFile) =>
  runTool('/usr/sbin/fence_virt', ['-T', '127.0.0.1', '-p', String(PORT), '-k', key, '-t', '3', '-o', 'status', '-H', 'test']);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-proc-'));
  conf = join(dir, 'fence_virt.conf');
  keyFile = join(dir, 'key');
  pidFile = join(dir, 'fence_virtd.pid');
  await writeFile(keyFile, 'first key', { mode: 0o600 });
  await writeFile(conf, tcpConfig());
});
after(async () => {
  if (existsSync(pidFile)) {
    const pid = Number(await readFile(pidFile, 'utf8'));
    if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
  }
  await rm(dir, { recursive: true, force: true });
});

describe('fence_virtd as a process', () => {
  it('prints help and version, and rejects unknown options', async () => {
    const help = await daemon('-h');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /-f <file>\s+Use <file> as configuration file/);
    const version = await daemon('-V');
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^fence_virtd \d+\.\d+\.\d+ \(compatible with fence-virt 4\.12\.1\)$/m);
    const bad = await daemon('-x');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid option -x/);
    const typo = await daemon('--chek');
    assert.equal(typo.code, 1);
    assert.match(
      typo.stderr,
      /invalid option '--chek' \(long options: --check, --history, --json, --set, --help, --version\)/,
      'names the option it refuses',
    );
  });

  it('refuses a broken configuration with the file, line and column', async () => {
    const broken = join(dir, 'broken.conf');
    await writeFile(broken, 'fence_virtd {\n\tlistener = "tcp"\n}\n');
    const result = await daemon('-F', '-f', broken, '-p', join(dir, 'unused.pid'));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /broken\.conf: line 3, column 1: expected ';'/);
    const missingKey = join(dir, 'nokey.conf');
    await writeFile(
      missingKey,
      configText({
        listeners: { tcp: { address: '127.0.0.1', port: String(PORT), key_file: join(dir, 'absent') } },
        backendUri: 'test+unix:///default',
      }),
    );
    const noKey = await daemon('-F', '-f', missingKey, '-p', join(dir, 'unused.pid'));
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /cannot open key file .*absent/);
    const badInterface = join(dir, 'badif.conf');
    await writeFile(
      badInterface,
      configText({
        listeners: { multicast: { interface: 'nosuchif0', port: String(PORT), key_file: keyFile } },
        backendUri: 'test+unix:///default',
      }),
    );
    const noIf = await daemon('-F', '-f', badInterface, '-p', join(dir, 'unused.pid'));
    assert.equal(noIf.code, 1);
    assert.match(noIf.stderr, /listener multicast failed to start: multicast interface 'nosuchif0' does not exist or is down/);
  });

  it('goes to the background, serves, refuses a second instance, reloads on SIGHUP and stops on SIGTERM', async () => {
    const started = await daemon('-f', conf, '-p', pidFile);
    assert.equal(started.code, 0, started.stderr);
    const pid = Number(await readFile(pidFile, 'utf8'));
    assert.ok(pid > 0 && alive(pid), 'the pid file names a live process');
    assert.equal((await status()).code, 0);

    const second = await daemon('-F', '-f', conf, '-p', pidFile);
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`another fence_virtd is running as process ${pid}`));

    await writeFile(keyFile, 'second key', { mode: 0o600 });
    const oldKey = join(dir, 'old-key');
    await writeFile(oldKey, 'first key', { mode: 0o600 });
    process.kill(pid, 'SIGHUP');
    await waitUntil(async () => (await status()).code === 0, 'the new key accepted after SIGHUP');
    assert.notEqual((await status(oldKey)).code, 0, 'the old key is refused after the reload');

    // Groups are reloaded too: a map that does not name "test" for us refuses it from now on.
    await writeFile(conf, tcpConfig([{ ip: ['127.0.0.1'], uuid: ['some-other-vm'] }]));
    process.kill(pid, 'SIGHUP');
    await waitUntil(async () => (await status()).code === 3, 'permission denied after the groups reload');

    process.kill(pid, 'SIGTERM');
    await waitUntil(async () => !alive(pid), 'fence_virtd exiting after SIGTERM');
    assert.equal(existsSync(pidFile), false, 'the pid file is removed');
  });

  it('survives running out of file descriptors (EMFILE on accept) and serves again afterwards', async () => {
    const emfileConf = join(dir, 'emfile.conf');
    const emfilePort = PORT + 1;
    await writeFile(
      emfileConf,
      configText({
        listeners: { tcp: { address: '127.0.0.1', port: String(emfilePort), key_file: keyFile } },
        backendUri: 'test+unix:///default',
      }),
    );
    const { spawn } = await import('node:child_process');
    const { connect } = await import('node:net');
    // A real descriptor limit, low enough that 150 idle connections exhaust it.
    const child = spawn(
      'prlimit',
      ['--nofile=64:64', OUR_DAEMON.command, ...OUR_DAEMON.args, '-F', '-f', emfileConf, '-p', join(dir, 'emfile.pid')],
      {
        stdio: 'ignore',
      },
    );
    const ask = () =>
      runTool('/usr/sbin/fence_virt', [
        '-T',
        '127.0.0.1',
        '-p',
        String(emfilePort),
        '-k',
        keyFile,
        '-t',
        '3',
        '-o',
        'status',
        '-H',
        'test',
      ]);
    try {
      await waitUntil(async () => (await ask()).code === 0, 'daemon under a 64-descriptor limit serving');
      const idle = Array.from({ length: 150 }, () => connect(emfilePort, '127.0.0.1').on('error', () => undefined));
      await sleep(500);
      assert.equal(child.exitCode, null, 'the daemon is still running while descriptors are exhausted');
      for (const s of idle) s.destroy();
      await waitUntil(async () => (await ask()).code === 0, 'serving again once descriptors are free');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('sleeps while idle: no event-loop sampling once requests stop, and the stop line says how long it sampled', async () => {
    // A configuration of its own: the tests before leave one whose groups refuse the domain.
    const idleConf = join(dir, 'idle.conf');
    await writeFile(idleConf, tcpConfig());
    const foreground = DaemonProcess.start(OUR_DAEMON.command, [...OUR_DAEMON.args, '-F', '-f', idleConf, '-p', join(dir, 'idle.pid')]);
    try {
      await foreground.waitForOutput(/serving with backend/);
      assert.equal((await status()).code, 0);
      // The sampler stops ten samples (1 s) after the last request; from then on the main thread sleeps
      // but for the libvirt keepalive (every 5 s) and a collection of V8 now and then. Sampling, it woke ten
      // times a second (32 times in this window).
      await sleep(2_000);
      const sleeps = () => procStatusNumber(foreground.pid, 'voluntary_ctxt_switches') ?? NaN;
      const before = sleeps();
      await sleep(3_000);
      const woke = sleeps() - before;
      assert.ok(woke < 15, `the idle daemon's main thread woke ${woke} times in 3 s`);
    } finally {
      await foreground.stop();
    }
    assert.match(foreground.output(), /event-loop delay over \d+ s: p50 [\d.]+ ms, .* \(sampled while serving requests: \d+ s\)/);
  });

  it('ignores a stale pid file whose process is gone', async () => {
    await writeFile(pidFile, '999999');
    const started = await daemon('-f', conf, '-p', pidFile);
    assert.equal(started.code, 0, started.stderr);
    const pid = Number(await readFile(pidFile, 'utf8'));
    assert.notEqual(pid, 999999);
    process.kill(pid, 'SIGTERM');
    await waitUntil(async () => !alive(pid), 'fence_virtd exiting');
  });
});
