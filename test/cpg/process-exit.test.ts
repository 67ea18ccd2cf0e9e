/**
 * The addon never keeps a process alive once the backend is closed, even when corosync is stopped and
 * a library call is stuck in it: a script that opens a cpg backend on a cluster host and closes it
 * (test/support/cpg-open-close.ts, which never calls process.exit) ends by itself, promptly. And a
 * daemon started while its corosync is stopped fails within the call deadline instead of hanging.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { CorosyncCluster, type CorosyncHost } from '../support/corosync-cluster.js';
import { configText } from '../support/daemon-config-text.js';
import { killChild, OUR_DAEMON_BUNDLE, waitUntil } from '../support/processes.js';
import { needsSharedLibvirtd } from '../support/requirement.js';

const SCRIPT = fileURLToPath(new URL('../support/cpg-open-close.ts', import.meta.url));
const URI = `test://${fileURLToPath(new URL('../fixtures/cpg/host1.xml', import.meta.url))}`;
const unavailable = CorosyncCluster.unavailable() ?? needsSharedLibvirtd();

describe('a process ends by itself once its cpg backend is closed', { skip: unavailable }, () => {
  let cluster: CorosyncCluster;

  before(async () => {
    cluster = await CorosyncCluster.start();
  });

  after(async () => {
    await cluster?.cleanup();
  });

  /** Opens the backend on `host`, optionally stops its corosync, closes: how long closing and exiting took. */
  async function openAndClose(host: CorosyncHost, stopCorosync: boolean): Promise<{ closedMs: number; exitedMs: number }> {
    const child: ChildProcess = host.spawn(process.execPath, ['--import', 'tsx', SCRIPT, URI], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit');
    try {
      await waitUntil(() => output.includes('open\n'), `the backend open:\n${output}`, 30_000);
      if (stopCorosync) host.signal('SIGSTOP');
      const started = Date.now();
      child.kill('SIGUSR2');
      await waitUntil(() => output.includes('closed\n'), `the backend closed:\n${output}`, 10_000);
      const closedMs = Date.now() - started;
      const timeout = sleep(5_000, undefined, { ref: false });
      await Promise.race([exited, timeout]);
      assert.notEqual(child.exitCode, null, `the process is still running 5 s after closing its backend:\n${output}`);
      assert.equal(child.exitCode, 0, output);
      return { closedMs, exitedMs: Date.now() - started };
    } finally {
      if (stopCorosync) host.signal('SIGCONT');
      if (child.exitCode === null) await killChild(child);
    }
  }

  test('with corosync running', async (t) => {
    const { closedMs, exitedMs } = await openAndClose(cluster.host(1), false);
    t.diagnostic(`closed in ${closedMs} ms, exited ${exitedMs} ms after the request to close`);
    // Promptly, not by a timer or the 5 s call deadline; the bound leaves room for a loaded 2-core machine.
    assert.ok(exitedMs < 5_000, `exited ${exitedMs} ms after closing started`);
  });

  test('with corosync stopped (SIGSTOP) while the backend is open: closing does not wait for it', async (t) => {
    const { closedMs, exitedMs } = await openAndClose(cluster.host(2), true);
    t.diagnostic(`closed in ${closedMs} ms, exited ${exitedMs} ms after the request to close`);
    // close() gives the libraries 1 s to say goodbye to corosync, then lets go (a process held by the
    // stuck call would never exit); the bound leaves room for a loaded machine.
    assert.ok(exitedMs < 8_000, `exited ${exitedMs} ms after closing started`);
  });

  /** A daemon configuration for `host` in `dir`, with the cpg backend: its path. */
  async function daemonConfig(host: CorosyncHost, dir: string): Promise<string> {
    const key = join(dir, 'key');
    await writeFile(key, 'cpg stopped corosync key\n', { mode: 0o600 });
    const listeners = { tcp: { address: host.address, port: '1229', key_file: key } };
    const file = join(dir, 'fence_virt.conf');
    await writeFile(file, configText({ listeners, backend: 'cpg', backendUri: URI.replace('test://', 'test+unix://') }), { mode: 0o600 });
    return file;
  }

  test('a daemon started while its corosync is stopped exits 1 within the call deadline, saying why', async () => {
    const host = cluster.host(3);
    const dir = await mkdtemp(join(tmpdir(), 'fvd-cpg-stopped-'));
    host.signal('SIGSTOP');
    try {
      const file = await daemonConfig(host, dir);
      const started = Date.now();
      const run = await host.exec(process.execPath, [...OUR_DAEMON_BUNDLE.args, '-F', '-f', file, '-p', join(dir, 'pid')], {
        timeoutMs: 30_000,
      });
      const ms = Date.now() - started;
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(
        run.stderr,
        /backend cpg failed to start: corosync did not answer votequorum_initialize within 5000 ms \(stopped or hung\?\)/,
      );
      assert.ok(ms < 15_000, `the daemon took ${ms} ms to give up`);
    } finally {
      host.signal('SIGCONT');
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('with -w, start-up attempts against a stopped corosync hold one waiting call, not one thread per attempt', async (t) => {
    const host = cluster.host(3);
    const dir = await mkdtemp(join(tmpdir(), 'fvd-cpg-wait-'));
    host.signal('SIGSTOP');
    let daemon: ChildProcess | undefined;
    try {
      const file = await daemonConfig(host, dir);
      daemon = host.spawn(process.execPath, [...OUR_DAEMON_BUNDLE.args, '-F', '-w', '-f', file, '-p', join(dir, 'pid')], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      daemon.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      daemon.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const attempts = (): number => output.split('backend cpg failed to start').length - 1;
      const threads = (): number => readdirSync(`/proc/${daemon?.pid}/task`).length;
      // Each attempt takes the 5 s call deadline, then the 5 s retry pause.
      await waitUntil(() => attempts() >= 2, `a second start-up attempt:\n${output}`, 40_000);
      const before = threads();
      await waitUntil(() => attempts() >= 5, `three more start-up attempts:\n${output}`, 60_000);
      const afterwards = threads();
      t.diagnostic(`${before} threads after 2 attempts, ${afterwards} after ${attempts()}`);
      assert.ok(afterwards - before <= 1, `threads grew from ${before} to ${afterwards} over 3 attempts:\n${output}`);
      // Once corosync answers again, the waiting call ends and the next attempt starts the daemon.
      host.signal('SIGCONT');
      await waitUntil(() => output.includes('serving with backend cpg'), `the daemon serving:\n${output}`, 30_000);
    } finally {
      host.signal('SIGCONT');
      if (daemon && daemon.exitCode === null) await killChild(daemon);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
