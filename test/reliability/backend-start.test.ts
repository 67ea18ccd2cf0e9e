/**
 * The listeners bind while the backend is still connecting to libvirtd (the handshake overlaps the
 * listeners' start). A request that comes in meanwhile waits for the backend and gets the right answer;
 * if the backend then fails to start, it never gets a success, and the daemon exits with status 1.
 * A private libvirtd stopped with SIGSTOP holds the handshake for as long as the test needs.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Hash, Request, Response } from '../../src/protocol/index.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { signedRequest, tcpExchange } from '../support/raw-client.js';
import { accepts, DaemonBed } from './daemon-bed.js';

/** Starts the daemon against a stopped libvirtd and waits until its TCP listener accepts. */
async function listeningBeforeBackend(bed: DaemonBed, libvirtd: PrivateLibvirtd): Promise<void> {
  libvirtd.signal('SIGSTOP');
  const daemon = bed.spawn();
  await daemon.waitUntil(() => accepts(bed.options.port), 'listening while libvirtd is stopped');
  assert.doesNotMatch(daemon.output(), /serving with backend/, 'the backend cannot have started yet');
}

it(
  'answers a request that came in while the backend was starting, once it has started',
  { skip: PrivateLibvirtd.unavailable() },
  async () => {
    const libvirtd = await PrivateLibvirtd.start();
    const bed = new DaemonBed({ port: 24761, backendUri: libvirtd.uri('/default') });
    try {
      await listeningBeforeBackend(bed, libvirtd);
      // libvirtd resumes only once the daemon has admitted the request (the challenge-response is done),
      // so the request is waiting for the backend when it does.
      const packet = signedRequest({ request: Request.STATUS, domain: 'test' }, bed.key);
      const got = await tcpExchange(bed.options.port, packet, bed.key, Hash.SHA256, 15_000, () => libvirtd.signal('SIGCONT'));
      assert.deepEqual(got, { kind: 'code', code: Response.SUCCESS }, bed.daemon?.output());
      await bed.daemon?.waitForOutput(/serving with backend libvirt/);
      assert.deepEqual(await bed.ask(Request.STATUS, 'no-such-domain'), { kind: 'code', code: Response.OFF });
    } finally {
      await bed.cleanup();
      await libvirtd.cleanup();
    }
  },
);

it('never answers success when the backend fails to start, and exits with status 1', { skip: PrivateLibvirtd.unavailable() }, async () => {
  const libvirtd = await PrivateLibvirtd.start();
  const bed = new DaemonBed({ port: 24762, backendUri: libvirtd.uri('/default') });
  try {
    await listeningBeforeBackend(bed, libvirtd);
    // libvirtd stays stopped: the handshake runs out of time and the start fails.
    const got = await bed.ask(Request.STATUS, 'test', 15_000);
    assert.notDeepEqual(got, { kind: 'code', code: Response.SUCCESS }, 'a status nobody could ask libvirt for');
    const daemon = bed.daemon!;
    await daemon.waitUntil(() => !daemon.running, 'exit', 15_000);
    assert.match(daemon.output(), /backend libvirt failed to start: /);
    assert.equal(daemon.exitCode, 1);
    assert.equal(await accepts(bed.options.port), false, 'the listener is closed');
  } finally {
    libvirtd.signal('SIGCONT');
    await bed.cleanup();
    await libvirtd.cleanup();
  }
});
