/**
 * packaging/fence_virtd.service: systemd accepts it, and its sandbox fits what the daemon really does.
 * Our daemon runs every listener (TCP on IPv4 and IPv6, multicast on lo, serial, vsock) under strace,
 * answers the C agents over multicast and TCP, and the socket families it created must be exactly the
 * unit's RestrictAddressFamilies; nothing it opens for writing may lie where ProtectSystem=full and
 * ProtectHome make the file system read-only.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DaemonProcess } from '../support/daemon-process.js';
import { OUR_DAEMON, REPO, runTool, waitUntil } from '../support/processes.js';
import { needsTools } from '../support/requirement.js';

const UNIT = `${REPO}packaging/fence_virtd.service`;
const PORTS = { tcp: 30410, tcp6: 30411, multicast: 30412, vsock: 30413 };

/** The unit's settings, repeated keys in order. */
async function unitSettings(): Promise<Map<string, string[]>> {
  const settings = new Map<string, string[]>();
  for (const line of (await readFile(UNIT, 'utf8')).split('\n')) {
    const m = /^(\w+)=(.*)$/.exec(line);
    if (m) settings.set(m[1] as string, [...(settings.get(m[1] as string) ?? []), m[2] as string]);
  }
  return settings;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-unit-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('fence_virtd.service', () => {
  it('systemd-analyze verify accepts it', { skip: needsTools('/usr/bin/systemd-analyze') }, async () => {
    const result = await runTool('systemd-analyze', ['verify', UNIT]);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /fence_virtd\.service/);
  });

  it('runs the daemon in the foreground after libvirt, restarts it on failure, reloads with SIGHUP', async () => {
    const s = await unitSettings();
    assert.deepEqual(s.get('ExecStart'), ['/usr/sbin/fence_virtd -F $FENCE_VIRTD_ARGS']);
    assert.deepEqual(s.get('ExecReload'), ['/bin/kill -HUP $MAINPID']);
    // Ready means serving (test/daemon/systemd-notify.test.ts); only the daemon itself may say so.
    assert.deepEqual(s.get('Type'), ['notify']);
    assert.deepEqual(s.get('NotifyAccess'), ['main']);
    assert.match(s.get('WatchdogSec')?.[0] ?? '', /^\d+s$/);
    assert.deepEqual(s.get('StateDirectory'), ['fence-virtd']);
    assert.deepEqual(s.get('Restart'), ['on-failure']);
    assert.deepEqual(s.get('EnvironmentFile'), ['-/etc/sysconfig/fence_virtd']);
    const afterUnits = (s.get('After') ?? []).join(' ').split(/\s+/);
    for (const unit of ['libvirtd.service', 'virtqemud.socket']) assert.ok(afterUnits.includes(unit), `After= lacks ${unit}`);
    // V8 compiles code at run time: write+execute memory must stay allowed.
    assert.equal(s.get('MemoryDenyWriteExecute'), undefined);
    for (const key of ['NoNewPrivileges', 'PrivateTmp']) assert.deepEqual(s.get(key), ['yes']);
    assert.deepEqual(s.get('ProtectSystem'), ['full']);
  });

  it(
    'allows exactly the socket families the daemon uses, and no write where the file system is read-only',
    { skip: needsTools('/usr/bin/strace'), timeout: 120_000 },
    async (t) => {
      const key = join(dir, 'key');
      await writeFile(key, randomBytes(4096), { mode: 0o600 });
      const sockets = join(dir, 'sockets');
      await mkdir(sockets);
      const conf = join(dir, 'fence_virt.conf');
      await writeFile(
        conf,
        'fence_virtd { listener = "tcp tcp6 multicast serial vsock"; backend = "libvirt"; }\n' +
          'listeners {\n' +
          `  tcp { address = "127.0.0.1"; port = "${PORTS.tcp}"; key_file = "${key}"; }\n` +
          `  tcp6 { module = "tcp"; family = "ipv6"; address = "::1"; port = "${PORTS.tcp6}"; key_file = "${key}"; }\n` +
          `  multicast { port = "${PORTS.multicast}"; interface = "lo"; key_file = "${key}"; }\n` +
          `  serial { uri = "test+unix:///default"; path = "${sockets}"; }\n` +
          `  vsock { port = "${PORTS.vsock}"; key_file = "${key}"; }\n` +
          '}\n' +
          'backends { libvirt { uri = "test+unix:///default"; } }\n',
        { mode: 0o600 },
      );
      const trace = join(dir, 'strace.out');
      const pidFile = join(dir, 'fence_virtd.pid');
      const daemon = DaemonProcess.start('strace', [
        '-f',
        '-qq',
        '-o',
        trace,
        '-e',
        'trace=socket,openat,creat,mkdir,rename',
        OUR_DAEMON.command,
        ...OUR_DAEMON.args,
        '-F',
        '-f',
        conf,
        '-p',
        pidFile,
      ]);
      // strace outlives a SIGTERM of its own while its tracee runs: stop the daemon by the PID it wrote.
      const stop = async (): Promise<void> => {
        const pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
        if (pid > 0) process.kill(pid, 'SIGTERM');
        await daemon.stop();
      };
      t.after(stop);
      await daemon.waitForOutput(/serving with backend libvirt and 5 listener\(s\)/, 30_000);
      const list = async (command: string, args: string[]) =>
        waitUntil(
          async () => (await runTool(command, [...args, '-k', key, '-t', '5', '-o', 'list'])).code === 0,
          `${command} ${args.join(' ')} -o list`,
        );
      await list('/usr/sbin/fence_xvm', ['-a', '225.0.0.12', '-p', String(PORTS.multicast)]);
      await list('/usr/sbin/fence_virt', ['-T', '127.0.0.1', '-p', String(PORTS.tcp)]);
      await list('/usr/sbin/fence_virt', ['-T', '::1', '-p', String(PORTS.tcp6)]);
      await stop();
      const calls = await readFile(trace, 'utf8');
      const used = new Set([...calls.matchAll(/socket\((AF_\w+|PF_\w+)/g)].map((m) => (m[1] as string).replace(/^PF_/, 'AF_')));
      const allowed = new Set(((await unitSettings()).get('RestrictAddressFamilies') ?? []).join(' ').split(/\s+/));
      assert.deepEqual([...used].sort(), [...allowed].sort(), `socket families used: ${[...used].join(' ')}`);
      const written = [...calls.matchAll(/(?:openat\(AT_FDCWD, |creat\(|mkdir\(|rename\()"([^"]+)"(?:, (O_[A-Z_|]+))?/g)]
        .filter((m) => !m[0].startsWith('openat') || /O_WRONLY|O_RDWR|O_CREAT/.test(m[2] ?? ''))
        .map((m) => m[1] as string);
      const readOnly = written.filter((path) => /^\/(usr|etc|boot|efi|home|root)\//.test(path));
      assert.deepEqual(readOnly, [], 'writes that ProtectSystem=full/ProtectHome would refuse');
    },
  );
});
