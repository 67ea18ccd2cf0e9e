/**
 * Faults of a real libvirtd: killed and restarted, hung (SIGSTOP), keepalive in both directions. Each test
 * uses a private libvirtd (private-libvirtd.ts) so the shared daemon is never touched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LibvirtBackend } from '../../src/backends/libvirt/backend.js';
import { LibvirtClient } from '../../src/libvirt/client.js';
import { LibvirtConnectionError, LibvirtTimeoutError } from '../../src/libvirt/errors.js';
import { LifecycleEventType } from '../../src/libvirt/protocol.js';
import { silentLogger } from '../../src/util/log.js';
import { CapturedLog } from '../support/captured-log.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { needsSharedLibvirtd } from '../support/requirement.js';
import { fixturePath, fixtureUri, LifecycleRecorder, nextEvent } from './support.js';

const origin = { source: 'test', seqno: 1 };

describe('libvirt client and backend across libvirtd faults', { skip: PrivateLibvirtd.unavailable() }, () => {
  let daemon: PrivateLibvirtd;
  before(async () => {
    // The daemon pings idle clients every second and drops one after 2 unanswered pings.
    daemon = await PrivateLibvirtd.start({ config: { keepalive_interval: 1, keepalive_count: 2 } });
  });
  after(() => daemon.cleanup());

  it('answers the daemon’s keepalive PINGs, so an idle connection stays up', async () => {
    const { logger, lines } = new CapturedLog(3);
    const client = await LibvirtClient.open({ uri: daemon.uri('/default'), logger, keepaliveIntervalMs: 0 });
    try {
      let lost: Error | null = null;
      client.on('disconnected', (e) => (lost = e));
      await sleep(3_500); // longer than the daemon's 1 s × (2 + 1) limit
      assert.ok(
        lines.some((l) => l.includes('keepalive PING received')),
        'the daemon pinged us',
      );
      assert.equal(lost, null);
      assert.equal(await client.numOfDomains(), 1);
    } finally {
      await client.close();
    }
  });

  it('times out one call on a hung daemon without dropping the connection', async () => {
    const client = await LibvirtClient.open({ uri: daemon.uri('/default'), keepaliveIntervalMs: 0 });
    try {
      daemon.signal('SIGSTOP');
      try {
        await assert.rejects(
          client.numOfDomains({ timeoutMs: 200 }),
          (err: unknown) => err instanceof LibvirtTimeoutError && err.timeoutMs === 200,
        );
      } finally {
        daemon.signal('SIGCONT');
      }
      assert.equal(await client.numOfDomains(), 1);
      assert.equal(client.isConnected, true);
    } finally {
      await client.close();
    }
  });

  it('detects a hung daemon by keepalive, fails calls fast while down, and reconnects when it resumes', async () => {
    const { logger, lines } = new CapturedLog(3);
    const client = await LibvirtClient.open({
      uri: daemon.uri('/default'),
      logger,
      keepaliveIntervalMs: 200,
      keepaliveCount: 2,
      connectTimeoutMs: 500,
      reconnectMinDelayMs: 50,
      reconnectMaxDelayMs: 200,
    });
    try {
      await sleep(700); // idle long enough for our PINGs, which the daemon must answer
      assert.ok(
        lines.some((l) => l.includes('keepalive PONG received')),
        'the daemon answered our PINGs',
      );
      assert.equal(client.isConnected, true);

      const disconnected = nextEvent(client, 'disconnected');
      daemon.signal('SIGSTOP');
      let reconnected: Promise<unknown> | undefined;
      try {
        const [reason] = await disconnected;
        assert.match(reason.message, /stopped answering keepalive/);
        reconnected = nextEvent(client, 'connected');
        await assert.rejects(
          client.numOfDomains(),
          (err: unknown) => err instanceof LibvirtConnectionError && /not connected/.test(err.message),
        );
      } finally {
        daemon.signal('SIGCONT');
      }
      await reconnected;
      assert.equal(await client.numOfDomains(), 1);
    } finally {
      await client.close();
    }
  });

  it('backend: fails fast while libvirtd is dead, works again after it restarts, and events resume', async () => {
    const uri = daemon.uri(fixturePath('node.xml'));
    const backend = await LibvirtBackend.open([uri], silentLogger, {
      client: { reconnectMinDelayMs: 50, reconnectMaxDelayMs: 500, connectTimeoutMs: 2_000 },
    });
    try {
      const [client] = backend.clients;
      assert.ok(client);
      const events = new LifecycleRecorder(client);
      await client.enableLifecycleEvents();
      assert.equal(await backend.status('vm-running', origin), 0);

      const disconnected = nextEvent(client, 'disconnected');
      await daemon.kill('SIGKILL');
      await disconnected;
      // Every answer below comes while the daemon is still dead: nothing waits for it to return.
      assert.equal(await backend.status('vm-running', origin), 1);
      const reasons: string[] = [];
      assert.equal(await backend.off('vm-running', { ...origin, explain: (r) => reasons.push(r) }), 1);
      assert.deepEqual(reasons, [`libvirt ${uri} unreachable`], 'the audit line names the unreachable libvirt');
      assert.deepEqual(await backend.hostList(origin), { hosts: [], code: 1 });
      await assert.rejects(client.numOfDomains(), LibvirtConnectionError);

      await daemon.launch();
      // The first operation after the restart succeeds: it reconnects on the spot if the background
      // reconnect has not got there yet. The test driver state starts from the file again.
      assert.equal(await backend.status('vm-running', origin), 0);
      assert.equal(client.isConnected, true);
      assert.equal(await backend.off('vm-running', origin), 0);
      const stopped = await events.waitFor('vm-running', LifecycleEventType.Stopped);
      assert.equal(stopped.uuid, '6a7e0001-0000-4000-8000-00000000aa01');
      assert.equal(await backend.status('vm-running', origin), 2);
    } finally {
      await backend.close();
    }
  });

  it('backend: a lookup resolve() handed over is never trusted once libvirtd is gone (no "on" while it is down)', async () => {
    const backend = await LibvirtBackend.open([daemon.uri(fixturePath('node.xml'))], silentLogger, {
      client: { reconnectMinDelayMs: 50, reconnectMaxDelayMs: 500, connectTimeoutMs: 2_000 },
    });
    try {
      // Handed-over lookups are checked against libvirt: a destroy since the lookup shows as off.
      assert.equal(await backend.resolve('vm-running', origin), '6a7e0001-0000-4000-8000-00000000aa01');
      assert.equal(await backend.off('vm-running', origin), 0);
      assert.equal(await backend.resolve('vm-running', origin), '6a7e0001-0000-4000-8000-00000000aa01');
      assert.equal(await backend.status('vm-running', origin), 2);
      assert.equal(await backend.on('vm-running', origin), 0);

      // Lookups left over (resolved, then libvirtd died before the request ran) must not stand in for libvirt.
      // Each request's own: the dispatcher hands resolve() and the call that follows the same origin.
      const running = { ...origin, seqno: 1 };
      const paused = { ...origin, seqno: 2 };
      const shutoff = { ...origin, seqno: 3 };
      await backend.resolve('vm-running', running);
      await backend.resolve('vm-paused', paused);
      await backend.resolve('vm-shutoff', shutoff);
      const disconnected = nextEvent(backend.clients[0]!, 'disconnected');
      await daemon.kill('SIGKILL');
      await disconnected;
      assert.equal(await backend.status('vm-running', running), 1, 'status of a running VM with libvirtd down');
      assert.equal(await backend.off('vm-paused', paused), 1, 'off with libvirtd down');
      assert.equal(await backend.reboot('vm-shutoff', shutoff), 1, 'reboot of a shut-off VM with libvirtd down');
    } finally {
      await backend.close();
      await daemon.launch();
    }
  });

  it(
    'backend: a domain unknown to the live connection is a failure, not "off", while another is dead',
    { skip: needsSharedLibvirtd() },
    async () => {
      const backend = await LibvirtBackend.open([fixtureUri('node.xml'), daemon.uri(fixturePath('node-b.xml'))], silentLogger);
      try {
        assert.equal(await backend.status('Alpha-b', origin), 0);
        const disconnected = nextEvent(backend.clients[1]!, 'disconnected');
        await daemon.kill('SIGKILL');
        await disconnected;
        // The dead connection might hold it: answering 2 (off) could make a cluster believe it was fenced.
        assert.equal(await backend.status('Alpha-b', origin), 1);
        assert.equal(await backend.status('no-such-vm', origin), 1);
        assert.equal(await backend.status('vm-running', origin), 0);
        const list = await backend.hostList(origin);
        assert.equal(list.code, 1);
        assert.deepEqual(
          list.hosts.map((h) => h.name),
          ['vm-blocked', 'vm-crashed', 'vm-in-shutdown', 'vm-paused', 'vm-pmsuspended', 'vm-running', 'vm-shutoff', 'vm-transient'],
        );
      } finally {
        await backend.close();
        await daemon.launch();
      }
    },
  );
});
