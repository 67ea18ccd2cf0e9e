/**
 * `-w` (the systemd unit's default) retries only what can get better: a libvirtd that is not up yet and
 * a listener address that is not there yet are retried until they are; a misspelled URI, a malformed
 * configuration and a missing key end the start at once with status 1 and a line that says why.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { it } from 'node:test';
import { Request, Response } from '../../src/protocol/index.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { runTool } from '../support/processes.js';
import { needsSharedLibvirtd, skipUnless } from '../support/requirement.js';
import { CaseTally } from './case-record.js';
import { accepts, DaemonBed } from './daemon-bed.js';

/** Exits within this long, or it was retrying (the retry interval is 5 s). */
const PROMPT_EXIT_MS = 4_000;

async function exitsPromptly(bed: DaemonBed, expected: RegExp): Promise<void> {
  const started = Date.now();
  const daemon = bed.spawn(['-w']);
  await daemon.waitUntil(() => !daemon.running, 'exit', 15_000).catch(() => undefined);
  assert.equal(daemon.running, false, `still running after 15 s:\n${daemon.output()}`);
  assert.ok(Date.now() - started < PROMPT_EXIT_MS, `took ${Date.now() - started} ms to give up:\n${daemon.output()}`);
  assert.match(daemon.output(), expected);
  assert.doesNotMatch(daemon.output(), /retrying/);
  await daemon.stop(); // collects the exit status
}

it('fails at once for a misspelled URI, a malformed file and a missing key', { skip: needsSharedLibvirtd() }, async () => {
  const misspelled = new DaemonBed({ port: 24721, backendUri: 'qemu:///sytem' });
  try {
    await exitsPromptly(
      misspelled,
      /backend libvirt failed to start: .*unexpected qemu URI path '\/sytem'.*\(not retried: waiting cannot fix this\)/,
    );
  } finally {
    await misspelled.cleanup();
  }
  const malformed = new DaemonBed({ port: 24721, backendUri: 'test+unix:///default' });
  try {
    malformed.writeConfig({ text: 'fence_virtd {\n\tbackend = "libvirt"\n' });
    await exitsPromptly(malformed, /fence_virt\.conf: line \d+, column \d+/);
    malformed.writeConfig();
    rmSync(malformed.keyFile);
    await exitsPromptly(malformed, /cannot open key file .*\/key/);
  } finally {
    await malformed.cleanup();
  }
});

it('retries a libvirtd that is not up yet, then serves', { skip: PrivateLibvirtd.unavailable() }, async () => {
  const tally = new CaseTally('-w: libvirtd not up at start');
  const libvirtd = await PrivateLibvirtd.start();
  const bed = new DaemonBed({ port: 24722, backendUri: libvirtd.uri('/default') });
  try {
    await libvirtd.kill();
    tally.faults++;
    const daemon = bed.spawn(['-w']);
    await daemon.waitForOutput(/backend libvirt failed to start: .*cannot connect to libvirt socket.*; retrying in 5 s/);
    await libvirtd.launch();
    await tally.recovery(() =>
      daemon.waitUntil(async () => {
        const got = await bed.ask(Request.STATUS, 'test', 1_000);
        return got.kind === 'code' && tally.answer(got.code === Response.SUCCESS);
      }, 'serving once libvirtd is up'),
    );
    assert.ok(tally.stillRunning(daemon.running));
    assert.equal(tally.record().wrong, 0);
  } finally {
    await bed.cleanup();
    await libvirtd.cleanup();
  }
});

/** Whether this process runs in a network namespace like the one scripts/run-tests.sh makes: loopback only. */
function inPrivateNetworkNamespace(): boolean {
  return Object.keys(networkInterfaces()).every((name) => name === 'lo');
}

it(
  'retries a listener address that is not there yet, then serves on it',
  { skip: skipUnless(inPrivateNetworkNamespace(), 'adding an address needs the private network namespace of scripts/run-tests.sh') },
  async () => {
    const address = '10.99.0.1';
    const bed = new DaemonBed({ port: 24723, backendUri: 'test+unix:///default' });
    const conf = readFileSync(bed.conf, 'utf8').replace('address = "127.0.0.1"', `address = "${address}"`);
    bed.writeConfig({ text: conf });
    try {
      const daemon = bed.spawn(['-w']);
      await daemon.waitForOutput(/listener tcp failed to start: .*EADDRNOTAVAIL.*; retrying every 5 s/);
      const added = await runTool('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo']);
      assert.equal(added.code, 0, added.stderr);
      await daemon.waitForOutput(/serving with backend libvirt/, 2_000);
      // The retry comes within 5 s of the address appearing; the listener then binds it.
      await daemon.waitUntil(() => accepts(24723, address), `listening on ${address}`, 12_000);
      assert.ok(daemon.running);
    } finally {
      await runTool('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo']);
      await bed.cleanup();
    }
  },
);
