/**
 * Two daemons on one multicast port: every fence_virtd sets SO_REUSEADDR, so the second one binds
 * without error and both then answer every request. Real daemons in the test's network namespace: ours
 * refuses to start beside another holder of the port (the C daemon's bind fails there too), and
 * `--check` says who holds it and what to do.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cDaemonMissing, startCDaemon } from '../support/c-daemon.js';
import { configText } from '../support/daemon-config-text.js';
import { OUR_DAEMON_BUNDLE, runTool } from '../support/processes.js';
import { OurDaemon } from '../security/our-daemon.js';

const PORT = 30311;
const KEY = Buffer.from('two daemons on one port share this key');
const config = (keyFile: string): string =>
  configText({
    listeners: { multicast: { address: '225.0.0.12', port: String(PORT), interface: 'lo', key_file: keyFile } },
    backendUri: 'test:///default',
  });

describe('a second daemon on the same multicast port', { skip: cDaemonMissing() }, () => {
  let first: OurDaemon;
  before(async () => {
    first = await OurDaemon.start({ key: KEY, config: ({ keyFile }) => config(keyFile), ready: [{ protocol: 'udp', port: PORT }] });
  });
  after(() => first.stop());

  const configFile = (): string => join(first.files.dir, 'fence_virt.conf');
  const check = () => runTool(OUR_DAEMON_BUNDLE.command, [...OUR_DAEMON_BUNDLE.args, '--check', '-f', configFile()], { timeoutMs: 60_000 });

  it('ours refuses to start, naming the daemon that holds the port and the fix', async () => {
    const second = await runTool(
      OUR_DAEMON_BUNDLE.command,
      [...OUR_DAEMON_BUNDLE.args, '-F', '-f', configFile(), '-p', join(first.files.dir, 'second.pid')],
      { timeoutMs: 30_000 },
    );
    assert.notEqual(second.code, 0, second.stderr);
    assert.match(second.stderr, new RegExp(`UDP port ${PORT} is already bound by pid ${first.pid} \\(.*fence_virtd`));
    assert.match(second.stderr, /race to fence; stop the other one, or give listeners\/multicast\/port another port/);
  });

  it("--check: one fence_virtd on the port (this configuration's own) is a warning that says what a second would do", async () => {
    const run = await check();
    assert.equal(run.code, 0, run.stdout);
    assert.match(
      run.stdout,
      new RegExp(
        `^WARN listener multicast .*: fence_virtd already serves UDP port ${PORT} \\(pid ${first.pid} .*refuses to start beside it \\| fix: `,
        'm',
      ),
    );
  });

  it('the C daemon refuses beside ours too (its bind fails), so refusing keeps the two alike', async () => {
    await assert.rejects(
      startCDaemon({ key: KEY, config: ({ keyFile }) => config(keyFile), ready: { listening: { protocol: 'udp', port: PORT } } }),
      /bind failed: Address already in use/,
    );
  });

  it('--check fails while a second socket shares the port with the daemon, naming both holders', async (t) => {
    // A socket that shares the port as a second fence_virtd of the old kind would (SO_REUSEADDR).
    const rival = createSocket({ type: 'udp4', reuseAddr: true });
    rival.bind(PORT);
    await once(rival, 'listening');
    t.after(() => rival.close());
    const run = await check();
    assert.equal(run.code, 1, run.stdout);
    const failure = run.stdout.split('\n').find((l) => l.startsWith('FAIL listener multicast'));
    assert.ok(failure, run.stdout);
    assert.match(failure, new RegExp(`UDP port ${PORT} is already bound by (?=.*pid ${first.pid} )(?=.*pid ${process.pid} )`));
    assert.match(failure, /daemons race to answer.*\| fix: stop all but one daemon/);
  });
});
