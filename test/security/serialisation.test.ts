/**
 * One domain, two names: `reboot vm1` and `off <vm1's UUID in upper case>` at the same moment. If the
 * daemon serialises requests by the text of the name, the off runs while the reboot waits for the
 * destroyed domain, finds it shut off, answers success, and the reboot then starts it again: the
 * cluster believes a running node is off. Requests must run one after another per resolved domain.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { Family, Hash, Request } from '../../src/protocol/index.js';
import { configText } from '../support/daemon-config-text.js';
import { multicastExchange, sendToGroup, signedRequest, tcpExchange, type Outcome } from '../support/raw-client.js';
import { OurDaemon } from './our-daemon.js';

const NODE = fileURLToPath(new URL('../fixtures/security/node.xml', import.meta.url));
const TCP = 31101;
const MCAST = 31102;
const CALLBACK = 31103;
const key = new AuthKey(Buffer.from('security: one domain, two names\n'));
const UUID = { vm1: 'e5000000-0000-4000-8000-0000000000a1', vm2: 'e5000000-0000-4000-8000-0000000000a2' };

let daemon: OurDaemon;

before(async () => {
  daemon = await OurDaemon.start({
    key: key.bytes,
    config: ({ keyFile }) =>
      configText({
        listeners: {
          tcp: { address: '127.0.0.1', port: String(TCP), key_file: keyFile },
          multicast: { interface: 'lo', port: String(MCAST), key_file: keyFile },
        },
        backendUri: `test+unix://${NODE}`,
      }),
    ready: [
      { protocol: 'tcp', port: TCP },
      { protocol: 'udp', port: MCAST },
    ],
  });
});
after(() => daemon?.stop());

const overTcp = (request: number, domain: string) => tcpExchange(TCP, signedRequest({ request, domain }, key), key, Hash.SHA256, 30_000);
const overMulticast = (request: number, domain: string) =>
  multicastExchange(
    (d) => sendToGroup(d, MCAST),
    signedRequest({ request, domain, family: Family.INET, address: '127.0.0.1', port: CALLBACK }, key),
    CALLBACK,
    key,
    Hash.SHA256,
    30_000,
  );

/** An outcome and when it arrived. */
async function timed(exchange: Promise<Outcome>): Promise<{ outcome: Outcome; at: number }> {
  const outcome = await exchange;
  return { outcome, at: Date.now() };
}

/**
 * Starts the reboot, waits until its destroy is under way (the window in which the domain is shut off
 * and about to be started again), then sends the off; returns both answers and their times.
 */
async function rebootThenOff(name: string, reboot: () => Promise<Outcome>, off: () => Promise<Outcome>) {
  const rebooting = timed(reboot());
  await daemon.waitForLog(new RegExp(`reboot '${name}'.*destroying`), 0, 10_000);
  const [rebooted, offed] = await Promise.all([rebooting, timed(off())]);
  return { rebooted, offed, final: await overTcp(Request.STATUS, name) };
}

describe('per-domain serialisation by the resolved domain', () => {
  it('reboot vm1 (by name) and off VM1-UUID (upper case) at once over TCP: the off waits and the VM ends up off', async () => {
    const r = await rebootThenOff(
      'vm1',
      () => overTcp(Request.REBOOT, 'vm1'),
      () => overTcp(Request.OFF, UUID.vm1.toUpperCase()),
    );
    assert.deepEqual(r.rebooted.outcome, { kind: 'code', code: 0 });
    assert.deepEqual(r.offed.outcome, { kind: 'code', code: 0 });
    assert.deepEqual(
      r.final,
      { kind: 'code', code: 2 },
      'off answered success, yet vm1 is running: the reboot started it again after the off',
    );
    assert.ok(r.offed.at >= r.rebooted.at, 'the off was answered before the reboot it should have waited for');
  });

  it('across listeners: reboot by upper-case UUID over multicast, off by name over TCP', async () => {
    const r = await rebootThenOff(
      'vm2',
      () => overMulticast(Request.REBOOT, UUID.vm2.toUpperCase()),
      () => overTcp(Request.OFF, 'vm2'),
    );
    assert.deepEqual(r.rebooted.outcome, { kind: 'code', code: 0 });
    assert.deepEqual(r.offed.outcome, { kind: 'code', code: 0 });
    assert.deepEqual(
      r.final,
      { kind: 'code', code: 2 },
      'off answered success, yet vm2 is running: the reboot started it again after the off',
    );
    assert.ok(r.offed.at >= r.rebooted.at, 'the off was answered before the reboot it should have waited for');
  });
});
