/**
 * Golden bytes of the cpg messages, written out from the C daemon's struct layouts (a 16-byte header of
 * four u32, then cpg_fence_req or virt_state_t, little-endian), not from the encoder.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CPG_MESSAGE_SIZE,
  decodeCpgMessage,
  encodeCpgMessage,
  HOST_LIST_RECORDS_PER_PART,
  hostListParts,
  replyTo,
  type CpgHostList,
  type CpgMessage,
  type CpgReply,
  type CpgRequest,
  type CpgStoreVm,
} from '../../src/backends/cpg/messages.js';
import { ProtocolError } from '../../src/protocol/errors.js';

/** Hex of `text` followed by zero bytes up to `size`. */
const field = (text: string, size: number): string =>
  Buffer.concat([Buffer.from(text), Buffer.alloc(size - Buffer.byteLength(text))]).toString('hex');
const hex = (...parts: string[]): Buffer => Buffer.from(parts.join('').replace(/\s+/g, ''), 'hex');

const request: CpgRequest = { type: 'request', seqno: 5, request: 1, vmName: 'vm1', fenceSeqno: 0x01020304 };
const REQUEST_BYTES = hex(
  '00000000 05000000 ffffffff 00000000', // type REQUEST, seqno 5, target none, pad
  field('vm1', 128),
  '01000000', // FENCE_OFF
  '04030201', // the agent's seqno
  '00000000', // response, unset
);

const reply: CpgReply = { ...request, type: 'reply', target: 3, response: 2 };
const REPLY_BYTES = hex(
  '01000000 05000000 03000000 00000000', // type REPLY, the request's seqno, target node 3, pad
  field('vm1', 128),
  '01000000 04030201',
  '02000000', // RESP_OFF
);

const store: CpgStoreVm = { type: 'store-vm', name: 'guest-a', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', owner: 2, state: 5 };
const STORE_BYTES = hex(
  '02000000 00000000 ffffffff 00000000', // type STORE_VM, seqno 0, target none, pad
  field('guest-a', 65),
  field('6695eb01-f6a4-8304-79aa-97f2502e193f', 65),
  '0000', // alignment of vm_state_t
  '02000000', // owner: node 2
  '05000000', // VIR_DOMAIN_SHUTOFF
);

describe('cpg messages', () => {
  for (const [name, message, bytes] of [
    ['REQUEST', request, REQUEST_BYTES],
    ['REPLY', reply, REPLY_BYTES],
    ['STORE_VM', store, STORE_BYTES],
  ] as [string, CpgMessage, Buffer][]) {
    // Equal bytes include the pad and every byte after a string's NUL: the encoder leaves nothing unset.
    it(`${name} is ${CPG_MESSAGE_SIZE} bytes laid out as the C structs, and decodes back`, () => {
      assert.equal(bytes.length, CPG_MESSAGE_SIZE);
      assert.deepEqual(encodeCpgMessage(message), bytes);
      assert.deepEqual(decodeCpgMessage(bytes), message);
    });
  }

  it('a reply echoes the request it answers', () => {
    assert.deepEqual(replyTo(request, 3, 2), reply);
  });

  it('accepts the bytes the C daemon leaves uninitialised, whatever they hold', () => {
    const fromC = Buffer.from(REQUEST_BYTES);
    fromC.writeUInt32LE(0xdeadbeef, 12); // pad: malloc'd, never written
    assert.deepEqual(decodeCpgMessage(fromC), request);
    const storeFromC = Buffer.from(STORE_BYTES);
    storeFromC.writeUInt32LE(0xdeadbeef, 12);
    storeFromC[16 + 64] = 0xaa; // last byte of v_name: strncpy writes 64 at most
    storeFromC[81 + 64] = 0xbb; // last byte of v_uuid
    storeFromC.writeUInt16LE(0xcccc, 146); // alignment padding
    assert.deepEqual(decodeCpgMessage(storeFromC), store);
  });

  it('accepts a 64-byte VM name without NUL in STORE_VM, as strncpy leaves a long libvirt name', () => {
    const long = Buffer.from(STORE_BYTES);
    long.fill(0x61, 16, 16 + 64);
    long[16 + 64] = 0x7f;
    assert.equal((decodeCpgMessage(long) as CpgStoreVm).name, 'a'.repeat(64));
    assert.deepEqual(
      encodeCpgMessage({ ...store, name: 'a'.repeat(64) }).subarray(16, 81),
      Buffer.concat([Buffer.alloc(64, 0x61), Buffer.alloc(1)]),
    );
  });

  const refused: [string, (b: Buffer) => Buffer, string][] = [
    ['a short message', (b) => b.subarray(0, 155), 'WRONG_LENGTH'],
    ['a long message', (b) => Buffer.concat([b, Buffer.alloc(1)]), 'WRONG_LENGTH'],
    ['an unknown type', (b) => (b.writeUInt32LE(3, 0), b), 'BAD_FIELD'],
    ['a request with a target', (b) => (b.writeUInt32LE(2, 8), b), 'BAD_FIELD'],
    ['a request with a response', (b) => (b.writeUInt32LE(1, 152), b), 'BAD_FIELD'],
    ['a request code that stays on one host (hostlist)', (b) => (b.writeInt32LE(6, 144), b), 'UNKNOWN_REQUEST'],
    ['a request code out of range', (b) => (b.writeInt32LE(-1, 144), b), 'UNKNOWN_REQUEST'],
    ['an unterminated vm_name', (b) => (b.fill(0x61, 16, 144), b), 'UNTERMINATED_STRING'],
    ['bytes after the NUL of vm_name', (b) => ((b[100] = 1), b), 'BAD_FIELD'],
    ['an empty vm_name', (b) => (b.fill(0, 16, 144), b), 'BAD_FIELD'],
  ];
  for (const [what, corrupt, code] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => decodeCpgMessage(corrupt(Buffer.from(REQUEST_BYTES))),
        (e: unknown) => e instanceof ProtocolError && e.code === code,
      );
    });
  }

  const refusedReplies: [string, (b: Buffer) => Buffer][] = [
    ['a reply without a target', (b) => (b.writeUInt32LE(0xffffffff, 8), b)],
    ['a reply to node 0', (b) => (b.writeUInt32LE(0, 8), b)],
    ['a reply with response 3 (the cpg backend never answers PERM)', (b) => (b.writeUInt32LE(3, 152), b)],
    ['a reply with response -1', (b) => (b.writeInt32LE(-1, 152), b)],
  ];
  for (const [what, corrupt] of refusedReplies) {
    it(`refuses ${what}`, () => {
      assert.throws(() => decodeCpgMessage(corrupt(Buffer.from(REPLY_BYTES))), ProtocolError);
    });
  }

  const refusedStores: [string, (b: Buffer) => Buffer][] = [
    ['a store-vm with a seqno', (b) => (b.writeUInt32LE(1, 4), b)],
    ['a store-vm with a target', (b) => (b.writeUInt32LE(1, 8), b)],
    ['a store-vm whose uuid is not one', (b) => (b.write('not-a-uuid\0', 81, 'latin1'), b.fill(0, 92, 145), b)],
    ['a store-vm without an owner', (b) => (b.writeUInt32LE(0, 148), b)],
    ['a store-vm owned by "no node"', (b) => (b.writeUInt32LE(0xffffffff, 148), b)],
    ['a store-vm with a negative state', (b) => (b.writeInt32LE(-1, 152), b)],
    ['a store-vm with an empty name', (b) => (b.fill(0, 16, 80), b)],
  ];
  for (const [what, corrupt] of refusedStores) {
    it(`refuses ${what}`, () => {
      assert.throws(() => decodeCpgMessage(corrupt(Buffer.from(STORE_BYTES))), ProtocolError);
    });
  }

  describe('messages between our daemons only (types the C daemon ignores)', () => {
    const DROP_BYTES = hex(
      '03010000 00000000 ffffffff 00000000', // type 0x103, seqno 0, target none, pad
      field('guest-a', 65),
      field('6695eb01-f6a4-8304-79aa-97f2502e193f', 65),
      '0000 02000000', // alignment, owner node 2
      '00000000', // no state: the VM is gone
    );
    const QUERY_BYTES = hex('01010000 09000000 ffffffff 00000000');
    const LIST_BYTES = hex(
      '02010000 09000000 01000000 00000000', // type 0x102, the query's seqno 9, target node 1, pad
      '00000000 01000000 02000000', // part 0 of 1, two records
      field('guest-a', 65),
      field('6695eb01-f6a4-8304-79aa-97f2502e193f', 65),
      '0000 02000000 05000000',
      field('guest-b', 65),
      field('0a1b2c3d-0000-4000-8000-00000000000b', 65),
      '0000 02000000 01000000',
    );
    const list: CpgHostList = {
      type: 'host-list',
      seqno: 9,
      target: 1,
      part: 0,
      parts: 1,
      vms: [
        { name: 'guest-a', uuid: store.uuid, owner: 2, state: 5 },
        { name: 'guest-b', uuid: '0a1b2c3d-0000-4000-8000-00000000000b', owner: 2, state: 1 },
      ],
    };
    for (const [name, message, bytes] of [
      ['drop-vm', { type: 'drop-vm', name: 'guest-a', uuid: store.uuid, owner: 2 }, DROP_BYTES],
      ['host-list query', { type: 'host-list-query', seqno: 9 }, QUERY_BYTES],
      ['host list', list, LIST_BYTES],
    ] as [string, CpgMessage, Buffer][]) {
      it(`${name} is laid out as documented and decodes back`, () => {
        assert.deepEqual(encodeCpgMessage(message), bytes);
        assert.deepEqual(decodeCpgMessage(bytes), message);
      });
    }

    it('a long host list is split into parts that each fit one message', () => {
      const vms = Array.from({ length: HOST_LIST_RECORDS_PER_PART * 2 + 1 }, (_, i) => ({
        name: `vm${i}`,
        uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        owner: 2,
        state: 1,
      }));
      const parts = hostListParts(9, 1, vms);
      assert.deepEqual(
        parts.map((p) => [p.part, p.parts, p.vms.length]),
        [
          [0, 3, 2000],
          [1, 3, 2000],
          [2, 3, 1],
        ],
      );
      assert.deepEqual(
        parts.flatMap((p) => (decodeCpgMessage(encodeCpgMessage(p)) as CpgHostList).vms),
        vms,
      );
      assert.deepEqual(hostListParts(9, 1, []), [{ type: 'host-list', seqno: 9, target: 1, part: 0, parts: 1, vms: [] }]);
    });

    it('refuses a host list whose length does not match its count, or a part beyond its parts', () => {
      assert.throws(() => decodeCpgMessage(LIST_BYTES.subarray(0, LIST_BYTES.length - 1)), ProtocolError);
      const beyond = Buffer.from(LIST_BYTES);
      beyond.writeUInt32LE(1, 16);
      assert.throws(() => decodeCpgMessage(beyond), ProtocolError);
      const stated = Buffer.from(DROP_BYTES);
      stated.writeInt32LE(1, 152);
      assert.throws(() => decodeCpgMessage(stated), ProtocolError, 'a drop-vm carries no state');
      assert.throws(() => decodeCpgMessage(Buffer.concat([QUERY_BYTES, Buffer.alloc(1)])), ProtocolError);
    });
  });

  it('cuts a VM name longer than the field at 64 bytes, as the C daemon does, instead of failing the announcement', () => {
    const encoded = encodeCpgMessage({ ...store, name: 'n'.repeat(100) });
    assert.equal((decodeCpgMessage(encoded) as CpgStoreVm).name, 'n'.repeat(64));
  });

  it('will not encode what the C daemon could not read', () => {
    const fails = (message: CpgMessage, code: string) =>
      assert.throws(
        () => encodeCpgMessage(message),
        (e: unknown) => e instanceof ProtocolError && e.code === code,
      );
    fails({ ...request, vmName: 'v'.repeat(128) }, 'DOMAIN_TOO_LONG');
    fails({ ...request, request: 6 as never }, 'UNKNOWN_REQUEST');
    fails({ ...request, seqno: 2 ** 32 }, 'BAD_FIELD');
    fails({ ...reply, target: 0xffffffff }, 'BAD_FIELD');
    fails({ ...reply, response: 3 as never }, 'BAD_FIELD');
    fails({ ...store, uuid: 'guest-a' }, 'BAD_FIELD');
    fails({ ...store, owner: 0 }, 'BAD_FIELD');
    fails({ ...store, state: -1 }, 'BAD_FIELD');
  });
});
