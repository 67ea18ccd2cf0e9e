/**
 * SIGTERM to the built daemon. During a reboot, the reboot completes (the domain comes back) and is
 * answered before the process exits, and a second SIGTERM neither cuts it short nor goes unmentioned.
 * Otherwise the daemon is gone within a second whatever state it is in: idle, libvirtd dead and being
 * reconnected, libvirtd hung, a client connected that says nothing, a client stalled mid-exchange.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LibvirtClient } from '../../src/libvirt/client.js';
import { Proc } from '../../src/libvirt/protocol.js';
import { DomainState, Request, Response } from '../../src/protocol/index.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { signedRequest } from '../support/raw-client.js';
import { CaseTally } from './case-record.js';
import { DaemonBed } from './daemon-bed.js';
import { LibvirtTap } from './libvirt-tap.js';

const STOP_WITHIN_MS = 1_000;
const skip = PrivateLibvirtd.unavailable();
let libvirtd: PrivateLibvirtd;
let tap: LibvirtTap;
let observer: LibvirtClient;
let bed: DaemonBed;

before(async () => {
  if (skip) return;
  libvirtd = await PrivateLibvirtd.start();
  tap = await LibvirtTap.start(libvirtd.dir, libvirtd.socketPath);
  observer = await LibvirtClient.open({ uri: libvirtd.uri('/default'), keepaliveIntervalMs: 0 });
  bed = new DaemonBed({ port: 24751, backendUri: tap.uri('/default') });
});
after(async () => {
  await bed?.cleanup();
  await observer?.close();
  await tap?.close();
  await libvirtd?.cleanup();
});

/** Sends SIGTERM and resolves with how long the daemon took to exit, and its exit status. */
async function terminate(): Promise<{ ms: number; output: string }> {
  const daemon = bed.daemon!;
  const started = performance.now();
  process.kill(bed.pid, 'SIGTERM');
  await daemon.waitUntil(() => !daemon.running, 'exit', 10_000).catch(() => undefined);
  const ms = performance.now() - started;
  assert.equal(daemon.running, false, `still running 10 s after SIGTERM:\n${daemon.output()}`);
  return { ms, output: daemon.output() };
}

describe('SIGTERM', { skip }, () => {
  it('during a reboot: the reboot completes and is answered, also through a second SIGTERM', async () => {
    const tally = new CaseTally('SIGTERM twice during a reboot');
    await bed.start();
    const idBefore = (await observer.lookupByName('test')).id;
    tap.onCall(Proc.DomainDestroy, async () => {
      for (const _ of [1, 2]) {
        tally.faults++;
        process.kill(bed.pid, 'SIGTERM');
        await sleep(300);
      }
    });
    const got = await bed.ask(Request.REBOOT, 'test', 30_000);
    assert.ok(tally.answer(got.kind === 'code' && got.code === Response.SUCCESS), `reboot answered ${JSON.stringify(got)}`);
    const dom = await observer.lookupByName('test');
    assert.equal((await observer.getInfo(dom)).state, DomainState.RUNNING, 'the domain came back');
    assert.notEqual(dom.id, idBefore, 'it was restarted');
    const { output } = await terminate();
    assert.match(output, /SIGTERM received again; still finishing 1 fencing action\(s\) in progress/);
    assert.match(output, /audit: .*op=reboot .*result=success/);
    const record = tally.record();
    assert.equal(record.wrong, 0);
  });

  const states: Array<[string, () => Promise<() => Promise<void>>]> = [
    ['idle', async () => async () => undefined],
    [
      'libvirtd dead, reconnecting',
      async () => {
        await libvirtd.kill();
        await sleep(1_500);
        return () => libvirtd.launch();
      },
    ],
    [
      'libvirtd hung (SIGSTOP)',
      async () => {
        libvirtd.signal('SIGSTOP');
        return async () => libvirtd.signal('SIGCONT');
      },
    ],
    [
      'libvirtd hung with a status request waiting on it',
      async () => {
        libvirtd.signal('SIGSTOP');
        void bed.ask(Request.STATUS, 'test', 30_000);
        await sleep(300);
        return async () => libvirtd.signal('SIGCONT');
      },
    ],
    [
      'a client connected that sends nothing',
      async () => {
        const silent = await connected();
        return async () => void silent.destroy();
      },
    ],
    [
      'a client stalled in the challenge-response',
      async () => {
        const stalled = await connected();
        stalled.write(signedRequest({ request: Request.STATUS, domain: 'test' }, bed.key));
        await sleep(300);
        return async () => void stalled.destroy();
      },
    ],
  ];
  for (const [state, enter] of states) {
    it(`stops within ${STOP_WITHIN_MS} ms: ${state}`, async () => {
      const tally = new CaseTally(`SIGTERM: ${state}`);
      await bed.start();
      const leave = await enter();
      tally.faults++;
      try {
        const { ms } = await terminate();
        tally.recoveryMs = ms;
        tally.notes = `stopped in ${Math.round(ms)} ms`;
        assert.ok(ms < STOP_WITHIN_MS, `took ${Math.round(ms)} ms to stop`);
      } finally {
        await leave();
      }
      tally.record();
    });
  }
});

function connected(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(24751, '127.0.0.1');
    s.once('connect', () => resolve(s)).once('error', reject);
  });
}
