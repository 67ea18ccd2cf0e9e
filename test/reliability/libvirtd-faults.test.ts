/**
 * libvirtd failing in the middle of a fencing action, under the built daemon: killed (SIGKILL, by its
 * PID) with the destroy of an `off` or a `reboot` in its socket, or with the restart of a reboot in it;
 * and stopped (SIGSTOP) mid-call for longer than an agent waits. The answer is failure, or a success
 * that the domain's state confirms; never success for an action that did not happen. The next request
 * once libvirtd is back succeeds, and the daemon never wedges.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LibvirtClient } from '../../src/libvirt/client.js';
import { Proc } from '../../src/libvirt/protocol.js';
import { DomainState, Request, Response } from '../../src/protocol/index.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import type { Outcome } from '../support/raw-client.js';
import { CaseTally } from './case-record.js';
import { DaemonBed } from './daemon-bed.js';
import { LibvirtTap } from './libvirt-tap.js';

/** The agents' default timeout (-t 30). */
const AGENT_TIMEOUT_MS = 30_000;
const skip = PrivateLibvirtd.unavailable();
let libvirtd: PrivateLibvirtd;
let tap: LibvirtTap;
let bed: DaemonBed;

/** The state of the test driver's domain 'test', asked on a connection of the test's own. */
async function stateOfTest(): Promise<number> {
  const client = await LibvirtClient.open({ uri: libvirtd.uri('/default'), keepaliveIntervalMs: 0 });
  try {
    return (await client.getInfo(await client.lookupByName('test'))).state;
  } finally {
    await client.close();
  }
}

const isCode = (got: Outcome, code: number) => got.kind === 'code' && got.code === code;

/** SIGSTOP now, SIGKILL (by PID) right after the call that is on its way was passed on. */
function killWithCallInSocket(tally: CaseTally): () => void {
  return () => {
    tally.faults++;
    const pid = libvirtd.pid as number;
    process.kill(pid, 'SIGSTOP');
    setTimeout(() => process.kill(pid, 'SIGKILL'), 100);
  };
}

/** Brings libvirtd back and times until the daemon answers a status request correctly again. */
async function recover(tally: CaseTally): Promise<void> {
  await libvirtd.kill(); // waits for the SIGKILLed process to be reaped
  await libvirtd.launch();
  await tally.recovery(async () => {
    // A failure while the connection comes back is an honest answer; the first success ends the wait.
    for (;;) if (isCode(await bed.ask(Request.STATUS, 'test', 5_000), Response.SUCCESS) && tally.answer(true)) return;
  });
  // One more action, checked against the driver: off really powers it off, and on brings it back.
  assert.ok(tally.answer(isCode(await bed.ask(Request.OFF), Response.SUCCESS)), 'off after recovery');
  assert.equal(await stateOfTest(), DomainState.SHUTOFF);
  assert.ok(tally.answer(isCode(await bed.ask(Request.ON), Response.SUCCESS)), 'on after recovery');
  assert.equal(await stateOfTest(), DomainState.RUNNING);
}

function finish(tally: CaseTally): void {
  assert.ok(tally.stillRunning(bed.daemon?.running === true), 'the daemon is still running');
  const record = tally.record();
  assert.equal(record.falseSuccesses, 0);
  assert.equal(record.wrong, 0);
}

before(async () => {
  if (skip) return;
  libvirtd = await PrivateLibvirtd.start();
  tap = await LibvirtTap.start(libvirtd.dir, libvirtd.socketPath);
  bed = new DaemonBed({ port: 24731, backendUri: tap.uri('/default') });
  await bed.start();
});
after(async () => {
  await bed?.cleanup();
  await tap?.close();
  await libvirtd?.cleanup();
});

describe('libvirtd killed with a fencing call in flight', { skip }, () => {
  for (const [name, request] of [
    ['off', Request.OFF],
    ['reboot', Request.REBOOT],
  ] as const) {
    it(`${name}: the destroy never ran, so the answer is failure; the next request succeeds`, async () => {
      const tally = new CaseTally(`libvirtd SIGKILLed with the destroy of ${name} in its socket`);
      tap.onCall(Proc.DomainDestroy, killWithCallInSocket(tally));
      const got = await bed.ask(request, 'test', AGENT_TIMEOUT_MS);
      assert.ok(
        tally.answer(isCode(got, Response.FAIL), isCode(got, Response.SUCCESS)),
        `answered ${JSON.stringify(got)} for a destroy libvirtd never ran`,
      );
      await recover(tally);
      finish(tally);
    });
  }

  it('reboot: killed during the restart, after the destroy was confirmed: failure or a success the destroy backs', async () => {
    const tally = new CaseTally('libvirtd SIGKILLed with the restart of reboot in its socket');
    const destroysBefore = tap.calls.get(Proc.DomainDestroy) ?? 0;
    let destroyConfirmed = false;
    // The restart is only sent once the destroyed domain was seen gone or shut off.
    tap.onCall(Proc.DomainCreateXml, () => {
      destroyConfirmed = (tap.calls.get(Proc.DomainDestroy) ?? 0) > destroysBefore;
      killWithCallInSocket(tally)();
    });
    const got = await bed.ask(Request.REBOOT, 'test', AGENT_TIMEOUT_MS);
    const success = isCode(got, Response.SUCCESS);
    assert.ok(tally.answer(success || isCode(got, Response.FAIL), success && !destroyConfirmed), `answered ${JSON.stringify(got)}`);
    assert.ok(destroyConfirmed, 'the fault hit the restart, after the destroy');
    await recover(tally);
    finish(tally);
  });
});

describe('libvirtd stopped mid-call for longer than the agent waits', { skip }, () => {
  it('answers failure before the agent gives up, keeps answering, and serves once libvirtd resumes', async () => {
    const tally = new CaseTally('libvirtd SIGSTOPped mid-call past the agent timeout');
    tap.onCall(Proc.DomainLookupByName, () => {
      tally.faults++;
      libvirtd.signal('SIGSTOP');
    });
    const started = performance.now();
    const pending = bed.ask(Request.OFF, 'test', AGENT_TIMEOUT_MS);
    // Meanwhile the daemon itself is not wedged: the monitor is answered, with failure, since it checks
    // that libvirt answers (within its own deadline, well before the agent's).
    await sleep(1_000);
    const monitor = await bed.ask(Request.DEVSTATUS, '', AGENT_TIMEOUT_MS);
    assert.ok(tally.answer(isCode(monitor, Response.FAIL), isCode(monitor, Response.SUCCESS)), 'monitor while libvirtd hangs');
    const got = await pending;
    const took = performance.now() - started;
    assert.ok(tally.answer(isCode(got, Response.FAIL), isCode(got, Response.SUCCESS)), `answered ${JSON.stringify(got)}`);
    assert.ok(took < AGENT_TIMEOUT_MS, `answered after ${Math.round(took)} ms, the agent gave up at ${AGENT_TIMEOUT_MS}`);
    tally.notes = `failure answered after ${(took / 1000).toFixed(1)} s`;

    libvirtd.signal('SIGCONT');
    await tally.recovery(async () => {
      for (;;) {
        // The off that was answered with failure may still complete once libvirtd resumes, also while this
        // status is under way: it is right if it gives the state from before it was asked or from after
        // its answer (the domain changes at most once, running to shut off).
        const before = await stateOfTest();
        const status = await bed.ask(Request.STATUS, 'test', AGENT_TIMEOUT_MS);
        if (status.kind === 'code' && status.code !== Response.FAIL) {
          const after = await stateOfTest();
          const gives = (state: number) => status.code === (state === DomainState.SHUTOFF ? Response.OFF : Response.SUCCESS);
          tally.answer(gives(before) || gives(after));
          return;
        }
      }
    });
    assert.ok(tally.answer(isCode(await bed.ask(Request.ON), Response.SUCCESS)), 'on after libvirtd resumed');
    assert.equal(await stateOfTest(), DomainState.RUNNING);
    finish(tally);
  });
});
