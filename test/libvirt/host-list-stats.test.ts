/**
 * The host list asks every domain's state in one call (virConnectGetAllDomainStats), and falls back to
 * one virDomainGetInfo per domain where libvirtd or its driver lacks that call. A private libvirtd
 * serves the test-driver node with a domain in every state; a relay counts the calls, and for the
 * fallback passes the statistics call on under a procedure number libvirtd does not know, so the
 * error the backend meets is libvirtd's own (no driver here lacks the call for real).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { LibvirtBackend } from '../../src/backends/libvirt/backend.js';
import { LibvirtClient } from '../../src/libvirt/client.js';
import { Proc } from '../../src/libvirt/protocol.js';
import { CapturedLog } from '../support/captured-log.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { LibvirtTap } from '../reliability/libvirt-tap.js';
import { fixturePath } from './support.js';

const skip = PrivateLibvirtd.unavailable();
const NODE = fixturePath('node.xml');
/** A procedure number far past any libvirt defines. */
const UNKNOWN_PROCEDURE = 0x7fff0000;
const origin = { source: 'test', seqno: 1 };
let libvirtd: PrivateLibvirtd;
let tap: LibvirtTap;

before(async () => {
  if (skip) return;
  libvirtd = await PrivateLibvirtd.start();
  tap = await LibvirtTap.start(libvirtd.dir, libvirtd.socketPath);
});
after(async () => {
  await tap?.close();
  await libvirtd?.cleanup();
});

/** name, UUID and state of every domain, asked as the C daemon asks: the list, then each one's info. */
async function oneByOne(): Promise<[string, string, number][]> {
  const client = await LibvirtClient.open({ uri: libvirtd.uri(NODE), keepaliveIntervalMs: 0 });
  try {
    const rows: [string, string, number][] = [];
    for (const dom of await client.listAllDomains()) rows.push([dom.name, dom.uuid, (await client.getInfo(dom)).state]);
    return rows.sort(([a], [b]) => a.localeCompare(b));
  } finally {
    await client.close();
  }
}

async function listedBy(backend: LibvirtBackend): Promise<[string, string, number][]> {
  const list = await backend.hostList(origin);
  assert.equal(list.code, 0);
  return list.hosts.map((h): [string, string, number] => [h.name, h.uuid, h.state]).sort(([a], [b]) => a.localeCompare(b));
}

const calls = (procedure: number) => tap.calls.get(procedure) ?? 0;

it('lists every domain and its state in one call, the states virDomainGetInfo gives', { skip }, async () => {
  const expected = await oneByOne();
  assert.ok(new Set(expected.map(([, , state]) => state)).size >= 6, 'the node has domains in most states');
  const backend = await LibvirtBackend.open([tap.uri(NODE)], new CapturedLog(3).logger);
  try {
    const [stats, infos] = [calls(Proc.ConnectGetAllDomainStats), calls(Proc.DomainGetInfo)];
    assert.deepEqual(await listedBy(backend), expected);
    assert.equal(calls(Proc.ConnectGetAllDomainStats), stats + 1, 'one statistics call');
    assert.equal(calls(Proc.DomainGetInfo), infos, 'no state asked one by one');
  } finally {
    await backend.close();
  }
});

it('asks each domain where libvirtd lacks the call, and stops trying it on that connection', { skip }, async () => {
  const expected = await oneByOne();
  tap.renumber(Proc.ConnectGetAllDomainStats, UNKNOWN_PROCEDURE);
  const log = new CapturedLog(3);
  const backend = await LibvirtBackend.open([tap.uri(NODE)], log.logger);
  try {
    const [stats, infos] = [calls(Proc.ConnectGetAllDomainStats), calls(Proc.DomainGetInfo)];
    assert.deepEqual(await listedBy(backend), expected);
    assert.deepEqual(await listedBy(backend), expected);
    assert.equal(calls(Proc.ConnectGetAllDomainStats), stats + 1, 'tried once: libvirtd answered that it does not know the call');
    assert.equal(calls(Proc.DomainGetInfo), infos + 2 * expected.length, "each domain's state, in both lists");
    assert.equal(log.matching(/one by one: domain statistics failed/).length, 1, log.lines.join(''));
  } finally {
    await backend.close();
  }
});
