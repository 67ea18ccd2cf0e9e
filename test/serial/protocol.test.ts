/**
 * Request handling on guest sockets (docs/protocol.md#serial-and-vmchannel-flow, #serial-messages,
 * #host-list, #duplicate-window; docs/compatibility.md, section 'Serial and vmchannel listener'): our
 * daemon in-process on a test-driver node, each domain socket served by a unix socket in this test
 * standing in for qemu, the test speaking as the guest. Garbage, split requests, duplicates, floods and
 * guests that vanish mid-answer, each followed by a request that must succeed; a TCP listener in the
 * same process.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import {
  decodeFenceRequest,
  decodeSerialRequest,
  Hash,
  HOST_RECORD_SIZE,
  MAGIC_BYTES,
  Request,
  Response,
  SERIAL_REQUEST_SIZE,
} from '../../src/protocol/index.js';
import { signedRequest, tcpExchange } from '../support/raw-client.js';
import { type GuestAnswer } from '../support/qemu-stand-ins.js';
import { waitUntil } from '../support/processes.js';
import { domainUuid, SerialBed } from './serial-bed.js';

const TCP_PORT = 28100;
const key = new AuthKey(Buffer.from('tcp key beside the serial listeners'));
let keyDir: string;
let bed: SerialBed;
let guestSerial: string;
let guestChannel: string;
let peerSerial: string;
let floodSerial: string;

before(async () => {
  keyDir = await mkdtemp(join(tmpdir(), 'fvd-serial-key-'));
  await writeFile(join(keyDir, 'key'), key.bytes, { mode: 0o600 });
  bed = await SerialBed.create(
    (sock) => [
      { name: 'vm-guest', uuid: domainUuid(1), serial: [`${sock}/guest.s`], channels: [`${sock}/guest.ch`] },
      { name: 'vm-peer', uuid: domainUuid(2), serial: [`${sock}/peer.s`] },
      { name: 'vm-flood', uuid: domainUuid(3), serial: [`${sock}/flood.s`] },
      { name: 'vm-a', uuid: domainUuid(10) },
      { name: 'vm-b', uuid: domainUuid(11) },
      { name: 'vm-off', uuid: domainUuid(12), off: true },
    ],
    {
      listeners: {
        serial: { mode: 'serial' },
        vmchannel: { module: 'serial', mode: 'vmchannel' },
        tcp: { address: '127.0.0.1', port: String(TCP_PORT), key_file: join(keyDir, 'key') },
      },
    },
  );
  guestSerial = `${bed.socketDir}/guest.s`;
  guestChannel = `${bed.socketDir}/guest.ch`;
  peerSerial = `${bed.socketDir}/peer.s`;
  floodSerial = `${bed.socketDir}/flood.s`;
});
after(async () => {
  await bed?.cleanup();
  if (keyDir) await rm(keyDir, { recursive: true, force: true });
});

const code = (c: number): GuestAnswer => ({ code: c });

/** Sends a request on the daemon's current connection to `path` and reads the answer. */
async function ask(path: string, request: number, domain = '', n = 1): Promise<GuestAnswer> {
  const line = await bed.line(path, n);
  line.send(bed.port(path).request({ request, domain }));
  return line.answer();
}

/** Bytes that hold no 'a' (0x61), so no magic can hide in them. */
function garbage(length: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (i * 7) % 0x61));
}

describe('answers', () => {
  it('status, fencing and a host list with serial framing; every record fully initialised', async () => {
    assert.deepEqual(await ask(guestSerial, Request.STATUS, 'vm-a'), code(0));
    assert.deepEqual(await ask(guestSerial, Request.STATUS, 'vm-off'), code(2));
    assert.deepEqual(await ask(guestSerial, Request.STATUS, domainUuid(10)), code(0));
    const list = await ask(guestSerial, Request.HOSTLIST);
    assert.ok('hosts' in list);
    assert.deepEqual(
      list.hosts.map((h) => `${h.name} ${h.uuid} ${h.state}`),
      ['vm-a 10 1', 'vm-b 11 1', 'vm-flood 3 1', 'vm-guest 1 1', 'vm-off 12 5', 'vm-peer 2 1'].map((s) => {
        const [name, n, state] = s.split(' ');
        return `${name} ${domainUuid(Number(n))} ${state}`;
      }),
    );
    assert.equal(list.code, 0);
    for (const record of list.raw) {
      assert.equal(record.length, HOST_RECORD_SIZE);
      assert.deepEqual([record[63], record[127], record[129]], [0, 0, 0], 'last string bytes and the pad byte are zero');
    }
    assert.deepEqual(list.raw.at(-1), Buffer.alloc(HOST_RECORD_SIZE));
  });

  it('answers 1 to request codes it does not know, as C', async () => {
    const line = await bed.line(guestSerial);
    for (const unknown of [7, 8, 99, 255]) {
      const frame = bed.port(guestSerial).request({ request: Request.STATUS, domain: 'vm-a' });
      frame[4] = unknown;
      line.send(frame);
      assert.deepEqual(await line.answer(), code(Response.FAIL), `request code ${unknown}`);
    }
  });

  it('a TCP listener in the same process answers beside the serial listeners', async () => {
    const outcome = await tcpExchange(TCP_PORT, signedRequest({ request: Request.STATUS, domain: 'vm-a' }, key), key, Hash.SHA256);
    assert.deepEqual(outcome, { kind: 'code', code: 0 });
  });
});

describe('framing by the magic', () => {
  it('skips garbage and a broken frame, then answers the next request; reports in one line, not per byte', async () => {
    const line = await bed.line(guestSerial);
    const before = bed.logged(/discarded .*guest\.s /).length;
    line.send(garbage(20_000));
    // A magic followed by a frame that does not decode (domain without a NUL).
    line.send(Buffer.concat([Buffer.from(MAGIC_BYTES), Buffer.alloc(SERIAL_REQUEST_SIZE - 4, 0x7a)]));
    line.send(bed.port(guestSerial).request({ request: Request.STATUS, domain: 'vm-off' }));
    assert.deepEqual(await line.answer(), code(2));
    assert.ok(await line.silentFor(300), 'garbage got no answer of its own');
    const reports = bed.logged(/discarded .*guest\.s /).length - before;
    assert.ok(reports >= 1 && reports <= 3, `${reports} report lines for 20 kB of garbage`);
  });

  it('answers a request split into pieces with pauses longer than the C daemon’s 1 s read', async () => {
    const line = await bed.line(guestSerial);
    const frame = bed.port(guestSerial).request({ request: Request.STATUS, domain: 'vm-a' });
    line.send(frame.subarray(0, 3));
    await sleep(1200);
    line.send(frame.subarray(3, 40));
    await sleep(1200);
    line.send(frame.subarray(40));
    assert.deepEqual(await line.answer(), code(0));
  });

  it('answers two requests written at once, in order', async () => {
    const line = await bed.line(guestSerial);
    const port = bed.port(guestSerial);
    line.send(
      Buffer.concat([
        port.request({ request: Request.STATUS, domain: 'vm-off' }),
        port.request({ request: Request.STATUS, domain: 'vm-a' }),
      ]),
    );
    assert.deepEqual([await line.answer(), await line.answer()], [code(2), code(0)]);
  });
});

describe('ordering and isolation', () => {
  it('runs one socket’s requests one at a time in order while other sockets are served', async () => {
    const guest = await bed.line(guestSerial);
    const peer = await bed.line(peerSerial);
    const order: string[] = [];
    const port = bed.port(guestSerial);
    // The reboot waits (as C) before it checks the domain is down: it is the slow one.
    const reboots = (): number => bed.logged(/reboot 'vm-b'.*: destroying/).length;
    const rebooting = reboots() + 1;
    guest.send(
      Buffer.concat([
        port.request({ request: Request.REBOOT, domain: 'vm-b' }),
        port.request({ request: Request.STATUS, domain: 'vm-off' }),
      ]),
    );
    const guestAnswers = (async () => {
      const first = await guest.answer();
      order.push('guest reboot');
      const second = await guest.answer();
      order.push('guest status');
      return [first, second];
    })();
    // The peer asks while the reboot is under way: it has destroyed vm-b and waits a second to check.
    await waitUntil(() => reboots() >= rebooting, 'the reboot of vm-b under way');
    peer.send(bed.port(peerSerial).request({ request: Request.STATUS, domain: 'vm-a' }));
    const peerAnswer = await peer.answer();
    order.push('peer status');
    assert.deepEqual(peerAnswer, code(0));
    assert.deepEqual(await guestAnswers, [code(0), code(2)]);
    assert.deepEqual(order, ['peer status', 'guest reboot', 'guest status']);
  });

  it('a guest that floods while its request runs loses only its own connection, which comes back', async () => {
    const flood = await bed.line(floodSerial);
    const port = bed.port(floodSerial);
    flood.send(port.request({ request: Request.REBOOT, domain: 'vm-b' }));
    const closed = new Promise((resolve) => flood.socket.once('close', resolve));
    for (let i = 0; i < 64; i++) flood.send(garbage(4096));
    // Others are served meanwhile.
    assert.deepEqual(await ask(peerSerial, Request.STATUS, 'vm-a'), code(0));
    await closed;
    await waitUntil(() => bed.logged(/flood\.s.*more than 65536 unread bytes/).length === 1, 'the overflow logged once', 15_000);
    // The daemon connects again and the guest is served.
    assert.deepEqual(await ask(floodSerial, Request.STATUS, 'vm-a', 2), code(0));
  });

  it('a guest that vanishes mid-answer affects only itself; its socket is re-opened and served', async () => {
    const line = await bed.line(peerSerial);
    line.send(bed.port(peerSerial).request({ request: Request.HOSTLIST }));
    line.socket.destroy();
    assert.deepEqual(await ask(guestSerial, Request.STATUS, 'vm-a'), code(0));
    assert.deepEqual(await ask(peerSerial, Request.STATUS, 'vm-off', 2), code(2));
    await waitUntil(() => bed.logged(/socket \S+peer\.s of domain vm-peer closed/).length === 1, 'the EOF logged once', 15_000);
  });
});

describe('history', () => {
  it('drops a repeat within 10 s on any socket of any serial or vmchannel listener of the daemon, case-insensitively', async () => {
    const guest = await bed.line(guestSerial);
    const peer = await bed.line(peerSerial, 2);
    const channel = await bed.line(guestChannel);
    const port = bed.port(guestSerial);
    const seqno = 4_000_000 + Math.floor(Math.random() * 1000);
    const first = port.request({ request: Request.STATUS, domain: 'vm-a', seqno });
    guest.send(first);
    assert.deepEqual(await guest.answer(), code(0));
    guest.send(first);
    assert.ok(await guest.silentFor(500), 'the same request again is dropped');
    guest.send(port.request({ request: Request.STATUS, domain: 'VM-A', seqno }));
    assert.ok(await guest.silentFor(500), 'the domain compares case-insensitively');
    peer.send(first);
    assert.ok(await peer.silentFor(500), 'another socket of the same listener shares its history');
    channel.send(first);
    assert.ok(await channel.silentFor(500), 'so does another listener (vmchannel): one history for the daemon');
    const overTcp = signedRequest({ request: Request.STATUS, domain: 'vm-a', seqno }, key);
    assert.deepEqual(
      await tcpExchange(TCP_PORT, overTcp, key, Hash.SHA256),
      { kind: 'code', code: 0 },
      'a status over TCP is answered: no TCP client sends copies, so the same seqno there is another client (docs/protocol.md)',
    );
    guest.send(port.request({ request: Request.NULL, domain: 'vm-a', seqno }));
    assert.deepEqual(await guest.answer(), code(1), 'the same seqno with another request code is a new request');
    guest.send(port.request({ request: Request.STATUS, domain: 'vm-off' }));
    assert.deepEqual(await guest.answer(), code(2), 'the line stays in step after the drops');
  });

  it("this process's guest and network clients never give two requests one seqno (the soak lost answers to that)", () => {
    // As in the soak: several network requests to each guest one, all for the same domains. Counting
    // on their own, the two clients' seqnos met, and the second of such a pair was dropped as a copy.
    const port = bed.port(guestSerial);
    const owner = new Map<number, string>();
    const take = (seqno: number, client: string) => {
      assert.equal(owner.get(seqno), undefined, `seqno ${seqno} of the ${client} client was the ${owner.get(seqno)} client's`);
      owner.set(seqno, client);
    };
    for (let i = 0; i < 2_000; i++) {
      take(decodeSerialRequest(port.request({ request: Request.STATUS, domain: 'vm-a' })).seqno, 'guest');
      for (let n = 0; n < 4; n++)
        take(decodeFenceRequest(signedRequest({ request: Request.STATUS, domain: 'vm-a' }, key)).seqno, 'network');
    }
  });
});
