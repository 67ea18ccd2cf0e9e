/**
 * libvirtd restarted under a running fence_virtd: requests during the outage fail at once (the C daemon
 * blocks every listener while libvirtd is down: docs/compatibility.md, row 'libvirtd unreachable') and
 * the next request after the restart succeeds without restarting the daemon. The monitor (device status)
 * reports the outage and a hung libvirtd with failure, where the C daemon answers success
 * (docs/compatibility.md, row 'monitor (device status)'). The audit line of a request that failed
 * during the outage gives the reason (row 'audit line').
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { parseConfig } from '../../src/config/index.js';
import { toDaemonConfig } from '../../src/daemon-config/index.js';
import { FenceDaemon } from '../../src/daemon/fence-daemon.js';
import { Hash, Request } from '../../src/protocol/index.js';
import { CapturedLog } from '../support/captured-log.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { configText } from '../support/daemon-config-text.js';
import { signedRequest, tcpExchange } from '../support/raw-client.js';

const PORT = 24601;
const skip = PrivateLibvirtd.unavailable();
const key = new AuthKey(Buffer.from('restart test key'));
let dir: string;
let libvirtd: PrivateLibvirtd;
let daemon: FenceDaemon;
/** At the default level (-d 0), as an administrator reads it. */
const captured = new CapturedLog(0);

const ask = (request: number, domain = 'test', timeoutMs?: number) =>
  tcpExchange(PORT, signedRequest({ request, domain }, key), key, Hash.SHA256, timeoutMs);

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'fvd-restart-'));
  await writeFile(join(dir, 'key'), key.bytes, { mode: 0o600 });
  libvirtd = await PrivateLibvirtd.start();
  const text = configText({
    listeners: { tcp: { address: '127.0.0.1', port: String(PORT), key_file: join(dir, 'key') } },
    backendUri: libvirtd.uri('/default'),
  });
  daemon = await FenceDaemon.start(toDaemonConfig(parseConfig(text, join(dir, 'fence_virt.conf'))), captured.logger);
});
after(async () => {
  await daemon?.stop();
  await libvirtd?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('keeps serving across a libvirtd restart', { skip }, async () => {
  assert.deepEqual(await ask(Request.STATUS), { kind: 'code', code: 0 });

  await libvirtd.kill();
  const during = await ask(Request.STATUS);
  assert.deepEqual(during, { kind: 'code', code: 1 }, 'status while libvirtd is down is a failure, not "off"');
  assert.deepEqual(await ask(Request.DEVSTATUS, ''), { kind: 'code', code: 1 }, 'the monitor reports the broken fencing path');
  assert.deepEqual(await ask(Request.OFF), { kind: 'code', code: 1 }, 'a fence while libvirtd is down fails');
  await captured.waitFor(/^notice: audit: .* target="test" op=off .*result=failed\(1\)/);
  const [audit] = captured.matching(/ op=off /);
  assert.ok(audit?.includes(` reason="libvirt ${libvirtd.uri('/default')} unreachable" `), `the audit line says why: ${audit}`);

  await libvirtd.launch();
  // No waiting for the client's reconnect backoff: the first request after the restart succeeds.
  assert.deepEqual(await ask(Request.STATUS), { kind: 'code', code: 0 });
  assert.deepEqual(await ask(Request.HOSTLIST, ''), { kind: 'hosts', names: ['test'] });
  assert.deepEqual(await ask(Request.DEVSTATUS, ''), { kind: 'code', code: 0 });
});

it('answers the monitor with failure, in time, while libvirtd hangs', { skip }, async () => {
  assert.deepEqual(await ask(Request.DEVSTATUS, ''), { kind: 'code', code: 0 });
  libvirtd.signal('SIGSTOP');
  try {
    const started = Date.now();
    // The check's own deadline (5 s) is well inside an agent's 30 s wait.
    assert.deepEqual(await ask(Request.DEVSTATUS, '', 15_000), { kind: 'code', code: 1 });
    assert.ok(Date.now() - started < 10_000, `answered after ${Date.now() - started} ms`);
  } finally {
    libvirtd.signal('SIGCONT');
  }
  assert.deepEqual(await ask(Request.DEVSTATUS, ''), { kind: 'code', code: 0 }, 'healthy again once libvirtd resumes');
});
