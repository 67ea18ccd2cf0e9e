/**
 * The duplicate history as a weapon. A request is a duplicate of any request with the same code, seqno
 * and domain in the last 10 s, whoever sent it (fence_xvm sends one copy per local address, each
 * claiming a different requester). So a guest that may NOT fence `victim` could flood requests for it
 * with every seqno and make the legitimate requester's real one a "duplicate" — unless refused requests
 * claim nothing. And a requester flooding permitted requests must only ever push out its own entries.
 * Serial guests are the attackers here: no key is needed on that path.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { Hash, Request, Response } from '../../src/protocol/index.js';
import { configText } from '../support/daemon-config-text.js';
import { GuestLine, GuestPortSocket } from '../support/qemu-stand-ins.js';
import { signedRequest, tcpExchange } from '../support/raw-client.js';
import { nodeXml } from '../serial/node-xml.js';
import { OurDaemon } from './our-daemon.js';

const TCP = 31301;
const MAX_HISTORY_PER_REQUESTER = 8;
const key = new AuthKey(Buffer.from('security: history claims\n'));
const UUID = {
  intruder: '5ec00000-0000-4000-8000-000000000001',
  guardian: '5ec00000-0000-4000-8000-000000000002',
  bystander: '5ec00000-0000-4000-8000-000000000003',
  victim: '5ec00000-0000-4000-8000-000000000004',
  victim2: '5ec00000-0000-4000-8000-000000000005',
};
type Guest = 'intruder' | 'guardian' | 'bystander';

let dir: string;
let daemon: OurDaemon;
const ports = new Map<Guest, GuestPortSocket>();
const lines = new Map<Guest, GuestLine>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-history-'));
  const sockets = join(dir, 'sock');
  await mkdir(sockets);
  const guest = (name: Guest) => ({ name, uuid: UUID[name], serial: [join(sockets, name)] });
  const node = join(dir, 'node.xml');
  await writeFile(
    node,
    nodeXml([
      guest('intruder'),
      guest('guardian'),
      guest('bystander'),
      { name: 'victim', uuid: UUID.victim },
      { name: 'victim2', uuid: UUID.victim2 },
    ]),
  );
  for (const name of ['intruder', 'guardian', 'bystander'] as const) ports.set(name, await GuestPortSocket.listen(join(sockets, name)));
  const uri = `test+unix://${node}`;
  daemon = await OurDaemon.start({
    key: key.bytes,
    config: ({ keyFile }) =>
      configText({
        listeners: {
          serial: { uri, path: sockets, mode: 'serial' },
          tcp: { address: '127.0.0.1', port: String(TCP), key_file: keyFile },
        },
        backendUri: uri,
        groups: [
          // Serial requesters are the VMs owning the sockets (by UUID); each may fence what its group lists.
          { name: 'intruder', uuid: [UUID.intruder] },
          { name: 'guardian', ip: ['127.0.0.1'], uuid: [UUID.guardian, 'guardian', 'victim', 'victim2'] },
          { name: 'bystander', uuid: [UUID.bystander, 'bystander'] },
        ],
        extraDaemonKeys: { max_history_per_requester: String(MAX_HISTORY_PER_REQUESTER) },
      }),
    ready: [{ protocol: 'tcp', port: TCP }],
    args: ['-d', '1'],
  });
  for (const [name, port] of ports) lines.set(name, new GuestLine(await port.connection(1)));
});
after(async () => {
  await daemon?.stop();
  await Promise.all([...ports.values()].map((p) => p.close()));
  await rm(dir, { recursive: true, force: true });
});

function line(name: Guest): GuestLine {
  return lines.get(name) as GuestLine;
}

/** Sends one serial request from a guest and reads its answer ('no answer' within `waitMs`: dropped). */
async function ask(guest: Guest, request: number, domain: string, seqno: number, waitMs = 3_000): Promise<{ code: number } | 'no answer'> {
  line(guest).send((ports.get(guest) as GuestPortSocket).request({ request, domain, seqno }));
  try {
    const answer = await line(guest).answer(waitMs);
    return { code: answer.code };
  } catch {
    return 'no answer';
  }
}

/** Sends requests for every seqno in [first, first + count) at once and reads every answer. */
async function flood(guest: Guest, request: number, domain: string, first: number, count: number): Promise<number[]> {
  const port = ports.get(guest) as GuestPortSocket;
  line(guest).send(Buffer.concat(Array.from({ length: count }, (_, i) => port.request({ request, domain, seqno: first + i }))));
  const codes: number[] = [];
  for (let i = 0; i < count; i++) codes.push((await line(guest).answer(5_000)).code);
  return codes;
}

describe('history entries are claimed only by permitted requests, and only evict their own requester', () => {
  it("a guest refused for victim floods its seqnos; the permitted guest's off with one of them is executed", async () => {
    const codes = await flood('intruder', Request.OFF, 'victim', 7000, 50);
    assert.deepEqual(codes, Array(50).fill(Response.PERM), 'every request of the intruder is refused');
    assert.deepEqual(
      await ask('guardian', Request.OFF, 'victim', 7025),
      { code: 0 },
      "guardian's off was dropped as a duplicate of a refused request",
    );
    assert.deepEqual(await ask('guardian', Request.STATUS, 'victim', 7100), { code: Response.OFF }, 'victim is off');
  });

  it("the same across listeners: a TCP requester's off with a seqno the serial intruder used is executed", async () => {
    assert.deepEqual(await flood('intruder', Request.OFF, 'victim2', 8000, 50), Array(50).fill(Response.PERM));
    const off = signedRequest({ request: Request.OFF, domain: 'victim2', seqno: 8025 }, key);
    assert.deepEqual(
      await tcpExchange(TCP, off, key, Hash.SHA256),
      { kind: 'code', code: 0 },
      'the TCP off was dropped as a duplicate of a refused request',
    );
    assert.deepEqual(await ask('guardian', Request.STATUS, 'victim2', 8100), { code: Response.OFF }, 'victim2 is off');
  });

  it("a flood of permitted requests does not evict another requester's entry: its retransmission is still a duplicate", async () => {
    assert.deepEqual(await ask('guardian', Request.STATUS, 'guardian', 9000), { code: 0 });
    const codes = await flood('bystander', Request.STATUS, 'bystander', 9100, 4 * MAX_HISTORY_PER_REQUESTER);
    assert.deepEqual(codes, Array(codes.length).fill(0));
    assert.equal(
      await ask('guardian', Request.STATUS, 'guardian', 9000, 1_000),
      'no answer',
      "guardian's retransmission was executed again",
    );
    await daemon.waitForLog(/duplicate.*\b9000\b/i);
  });

  it('TCP clients never retransmit: a status repeating a recent seqno is answered again, an off is still executed once', async () => {
    const status = () =>
      tcpExchange(TCP, signedRequest({ request: Request.STATUS, domain: 'guardian', seqno: 9500 }, key), key, Hash.SHA256);
    assert.deepEqual(await status(), { kind: 'code', code: 0 });
    assert.deepEqual(await status(), { kind: 'code', code: 0 }, "a second agent's status with the same seqno was dropped");
    const off = () => tcpExchange(TCP, signedRequest({ request: Request.OFF, domain: 'victim', seqno: 9600 }, key), key, Hash.SHA256);
    assert.deepEqual(await off(), { kind: 'code', code: 0 });
    assert.equal((await off()).kind, 'closed', 'an off with the same seqno within the window was executed twice');
    await daemon.waitForLog(/duplicate.*\b9600\b/i);
  });

  it(`a requester holds at most max_history_per_requester (${MAX_HISTORY_PER_REQUESTER}) entries: its own oldest go`, async () => {
    const count = 4 * MAX_HISTORY_PER_REQUESTER;
    assert.deepEqual(await flood('bystander', Request.STATUS, 'bystander', 9200, count), Array(count).fill(0));
    const newest = 9200 + count - 1;
    assert.equal(await ask('bystander', Request.STATUS, 'bystander', newest, 1_000), 'no answer', 'its newest request is a duplicate');
    assert.deepEqual(await ask('bystander', Request.STATUS, 'bystander', 9200), { code: 0 }, 'its oldest request was still remembered');
  });
});
