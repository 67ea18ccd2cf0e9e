/**
 * Our fence_virtd under a service manager's eye (Type=notify): the test plays systemd, listening on a
 * real unix datagram socket named by $NOTIFY_SOCKET. READY=1 comes only once every listener serves, a
 * request sent the moment it arrives is answered; STATUS lines say what holds the start up, then count
 * the requests; SIGHUP is framed by
 * RELOADING=1 and READY=1; SIGTERM sends STOPPING=1; with $WATCHDOG_USEC the pings come at half of it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { configText } from '../support/daemon-config-text.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { NotifySocket } from '../support/notify-socket.js';
import { OUR_DAEMON, runTool, waitUntil } from '../support/processes.js';
import { needsTools } from '../support/requirement.js';

const NODE = fileURLToPath(new URL('../fixtures/daemon/node.xml', import.meta.url));
const PORT = 24710;
const LATE_PORT = 24711;

let dir: string;
let keyFile: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-notify-'));
  keyFile = join(dir, 'key');
  await writeFile(keyFile, 'notify test key', { mode: 0o600 });
});
after(() => rm(dir, { recursive: true, force: true }));

const status = (port: number) =>
  runTool('/usr/sbin/fence_virt', ['-T', '127.0.0.1', '-p', String(port), '-k', keyFile, '-t', '3', '-o', 'status', '-H', 'vm-a']);

async function writeConfig(name: string, listeners: Record<string, Record<string, string>>): Promise<string> {
  const conf = join(dir, `${name}.conf`);
  await writeFile(conf, configText({ listeners, backendUri: `test+unix://${NODE}`, extraDaemonKeys: { history_entries: '0' } }), {
    mode: 0o600,
  });
  return conf;
}

function startDaemon(name: string, conf: string, env: NodeJS.ProcessEnv, ...args: string[]): DaemonProcess {
  return DaemonProcess.start(OUR_DAEMON.command, [...OUR_DAEMON.args, '-F', '-f', conf, '-p', join(dir, `${name}.pid`), ...args], env);
}

const tcp = (port: number) => ({ module: 'tcp', address: '127.0.0.1', port: String(port), key_file: keyFile });

describe('fence_virtd notifies the service manager', { skip: needsTools('socat', '/usr/sbin/fence_virt') }, () => {
  it('READY=1 once every listener serves; STATUS lines; RELOADING=1 and READY=1 around SIGHUP; STOPPING=1', async (t) => {
    const notify = await NotifySocket.open(join(dir, 'notify.sock'));
    t.after(() => notify.close());
    // The second listener's port is taken: with -w the daemon retries it every 5 s and is not ready.
    const squatter: Server = createServer();
    await new Promise<void>((r) => squatter.listen(LATE_PORT, '127.0.0.1', r));
    t.after(() => squatter.close());
    const conf = await writeConfig('ready', { tcp: tcp(PORT), late: tcp(LATE_PORT) });
    const daemon = startDaemon('ready', conf, { NOTIFY_SOCKET: notify.address }, '-w');
    t.after(() => daemon.stop());

    await daemon.waitForOutput(/listener late failed to start/);
    await waitUntil(async () => (await status(PORT)).code === 0, 'the first listener serving');
    assert.deepEqual(notify.having('READY=1'), [], 'not ready while a listener cannot serve');
    // What holds the start up is the status line meanwhile (systemctl status shows it).
    assert.match(await notify.waitFor('STATUS='), /^STATUS=error: listener late failed to start: .*retrying every 5 s$/);

    await new Promise((r) => squatter.close(r));
    const ready = await notify.waitFor('READY=1');
    // Asked the moment READY=1 arrived: the listener that was late must answer.
    const answer = await status(LATE_PORT);
    assert.equal(answer.code, 0, `status over the late listener right after READY=1: ${answer.stdout}${answer.stderr}`);
    const served = /^STATUS=listeners tcp, late; (\d+) request\(s\) served, 0 fencing action\(s\)$/m.exec(ready);
    assert.ok(served, `READY=1 comes with a status line: ${ready}`);

    // The status line follows the requests served, refreshed every few seconds rather than per request.
    assert.equal((await status(PORT)).code, 0);
    await notify.waitFor('STATUS=', notify.having('STATUS=').length + 1, 15_000);
    const expected = `STATUS=listeners tcp, late; ${Number(served[1]) + 2} request(s) served, 0 fencing action(s)`;
    assert.equal(notify.having('STATUS=').at(-1), expected);

    process.kill(daemon.pid, 'SIGHUP');
    const reloading = await notify.waitFor('RELOADING=1');
    assert.match(reloading, /^MONOTONIC_USEC=\d+$/m, 'RELOADING=1 carries the monotonic time of the reload');
    await notify.waitFor('READY=1', 2);
    assert.ok(notify.messages.indexOf(reloading) < notify.messages.lastIndexOf(notify.having('READY=1')[1] as string));
    assert.equal((await status(PORT)).code, 0, 'serving after the reload');

    process.kill(daemon.pid, 'SIGTERM');
    await notify.waitFor('STOPPING=1');
    await waitUntil(() => !daemon.running, 'fence_virtd exiting after SIGTERM');
    assert.equal(notify.having('WATCHDOG=1').length, 0, 'no watchdog pings unless asked for');
  });

  it('pings the watchdog at half of WATCHDOG_USEC, over an abstract socket, only when WATCHDOG_PID is its own', async (t) => {
    const notify = await NotifySocket.open(`@fence-virtd-test-${process.pid}`);
    t.after(() => notify.close());
    const conf = await writeConfig('watchdog', { tcp: tcp(PORT + 2) });

    const daemon = startDaemon('watchdog', conf, { NOTIFY_SOCKET: notify.address, WATCHDOG_USEC: '400000' });
    t.after(() => daemon.stop());
    await notify.waitFor('READY=1');
    const first = notify.having('WATCHDOG=1').length;
    await sleep(2_000);
    const pings = notify.having('WATCHDOG=1').length - first;
    // Every 200 ms: about 10 in 2 s; a loaded machine may delay some, never send many more.
    assert.ok(pings >= 6 && pings <= 12, `${pings} pings in 2 s at WATCHDOG_USEC=400000`);
    await daemon.stop();

    const other = await NotifySocket.open(join(dir, 'notify-other.sock'));
    t.after(() => other.close());
    const notMine = startDaemon('watchdog', conf, { NOTIFY_SOCKET: other.address, WATCHDOG_USEC: '400000', WATCHDOG_PID: '1' });
    t.after(() => notMine.stop());
    await other.waitFor('READY=1');
    await sleep(1_000);
    assert.equal(other.having('WATCHDOG=1').length, 0, 'a watchdog meant for another process (WATCHDOG_PID) is not pinged');
  });
});
