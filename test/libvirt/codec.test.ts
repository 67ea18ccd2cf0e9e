import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnsupportedUriError } from '../../src/libvirt/errors.js';
import { encodePacket, MAX_MESSAGE_BYTES, MessageType, PacketDecoder, PacketError } from '../../src/libvirt/packet.js';
import { REMOTE_PROGRAM } from '../../src/libvirt/protocol.js';
import { readDomain, readDomainStats, readRemoteError, writeDomain } from '../../src/libvirt/remote-types.js';
import { resolveUri, type UriEnvironment } from '../../src/libvirt/uri.js';
import { uuidFromBytes, uuidToBytes } from '../../src/libvirt/uuid.js';
import { XdrError, XdrReader, XdrWriter } from '../../src/libvirt/xdr.js';

describe('XDR', () => {
  it('round-trips every type with RFC 4506 layout', () => {
    const w = new XdrWriter(4);
    w.int(-2)
      .uint(0xfffffffe)
      .hyper(-5n)
      .uhyper(2n ** 64n - 1n)
      .bool(true)
      .string('héllo')
      .opaque(Buffer.from([1, 2, 3]));
    w.optional(null, (x, v: number) => x.int(v)).optional(7, (x, v) => x.int(v));
    const bytes = w.finish();
    // 'héllo' is 6 UTF-8 bytes: length word + 6 + 2 padding; the opaque is 4 + 3 + 1.
    assert.equal(bytes.length, 4 + 4 + 8 + 8 + 4 + 12 + 8 + 4 + 8);
    assert.deepEqual([...bytes.subarray(0, 4)], [0xff, 0xff, 0xff, 0xfe]);
    const r = new XdrReader(bytes);
    assert.equal(r.int(), -2);
    assert.equal(r.uint(), 0xfffffffe);
    assert.equal(r.hyper(), -5n);
    assert.equal(r.uhyper(), 2n ** 64n - 1n);
    assert.equal(r.bool(), true);
    assert.equal(r.string(100), 'héllo');
    assert.deepEqual([...r.opaque(100)], [1, 2, 3]);
    assert.equal(
      r.optional((x) => x.int()),
      null,
    );
    assert.equal(
      r.optional((x) => x.int()),
      7,
    );
    r.end();
  });

  it('pads with zero bytes', () => {
    assert.deepEqual([...new XdrWriter().string('a').finish()], [0, 0, 0, 1, 0x61, 0, 0, 0]);
  });

  it('rejects truncated data, oversized lengths, bad booleans and trailing bytes', () => {
    assert.throws(() => new XdrReader(Buffer.alloc(3)).int(), XdrError);
    assert.throws(() => new XdrReader(new XdrWriter().uint(50).finish()).string(10), /exceeds limit 10/);
    assert.throws(() => new XdrReader(new XdrWriter().uint(8).finish()).string(100), /truncated/);
    assert.throws(() => new XdrReader(new XdrWriter().int(2).finish()).bool(), /invalid XDR boolean 2/);
    assert.throws(() => new XdrReader(new XdrWriter().uint(1_000_000).finish()).array(2_000_000, (r) => r.int()), /truncated XDR array/);
    assert.throws(() => new XdrReader(Buffer.alloc(8)).end(), /8 unexpected trailing bytes/);
  });
});

describe('UUIDs', () => {
  const text = '6a7e0001-0000-4000-8000-00000000aa0f';

  it('converts between 16 raw bytes and canonical lowercase text', () => {
    const bytes = uuidToBytes(text.toUpperCase());
    assert.equal(bytes.length, 16);
    assert.equal(bytes[0], 0x6a);
    assert.equal(bytes[15], 0x0f);
    assert.equal(uuidFromBytes(bytes), text);
    const everyDigit = Uint8Array.from({ length: 16 }, (_, i) => i * 0x11);
    assert.equal(uuidFromBytes(everyDigit), '00112233-4455-6677-8899-aabbccddeeff');
  });

  it('accepts only the 36-character canonical form', () => {
    for (const s of [text.replaceAll('-', ''), `${text}0`, text.slice(1), `{${text}}`, text.replace('a', 'g'), 'vm-running']) {
      assert.throws(() => uuidToBytes(s), TypeError, s);
    }
    assert.throws(() => uuidFromBytes(Buffer.alloc(15)), TypeError);
  });
});

describe('remote structures', () => {
  it('round-trips remote_nonnull_domain', () => {
    const w = new XdrWriter();
    const dom = { name: 'vm-a', uuid: '6a7e0001-0000-4000-8000-00000000aa01', id: -1 };
    writeDomain(w, dom);
    const r = new XdrReader(w.finish());
    assert.deepEqual(readDomain(r), dom);
    r.end();
  });

  it('decodes remote_error into a LibvirtError with code and message', () => {
    const w = new XdrWriter().int(42).int(10);
    w.optional("Domain not found: no domain with matching name 'x'", (x, s) => x.string(s));
    w.int(2).optional(null, writeDomain);
    w.optional('x', (x, s) => x.string(s))
      .optional(null, (x, s: string) => x.string(s))
      .optional(null, (x, s: string) => x.string(s));
    w.int(0)
      .int(0)
      .optional(null, (x, s: string) => x.string(s));
    const r = new XdrReader(w.finish());
    const err = readRemoteError(r);
    r.end();
    assert.equal(err.code, 42);
    assert.equal(err.domain, 10);
    assert.equal(err.message, "Domain not found: no domain with matching name 'x'");
  });

  it('decodes a remote_domain_stats_record with a typed parameter of every type, and refuses an unknown type', () => {
    const dom = { name: 'vm-a', uuid: '6a7e0001-0000-4000-8000-00000000aa01', id: 3 };
    const double = Buffer.alloc(8);
    double.writeDoubleBE(0.25);
    const w = new XdrWriter();
    writeDomain(w, dom);
    w.uint(7);
    w.string('state.state').int(1).int(1);
    w.string('a.uint').int(2).uint(0xfffffffe);
    w.string('a.llong').int(3).hyper(-5n);
    w.string('a.ullong')
      .int(4)
      .uhyper(2n ** 64n - 1n);
    w.string('a.double').int(5).fixedOpaque(double);
    w.string('a.boolean').int(6).int(1);
    w.string('a.string').int(7).string('text');
    const r = new XdrReader(w.finish());
    assert.deepEqual(readDomainStats(r), {
      dom,
      params: [
        { field: 'state.state', value: 1 },
        { field: 'a.uint', value: 0xfffffffe },
        { field: 'a.llong', value: -5n },
        { field: 'a.ullong', value: 2n ** 64n - 1n },
        { field: 'a.double', value: 0.25 },
        { field: 'a.boolean', value: true },
        { field: 'a.string', value: 'text' },
      ],
    });
    r.end();
    const unknown = new XdrWriter();
    writeDomain(unknown, dom);
    unknown.uint(1).string('x').int(8).int(0);
    assert.throws(() => readDomainStats(new XdrReader(unknown.finish())), XdrError);
  });
});

describe('packet framing', () => {
  const header = { program: REMOTE_PROGRAM, version: 1, procedure: 23, type: MessageType.Reply, serial: 9, status: 0 };

  it('encodes length (counting itself), header and payload, and decodes across arbitrary chunking', () => {
    const one = encodePacket(header, Buffer.from([1, 2, 3, 4]));
    assert.equal(one.readUInt32BE(0), 32);
    const odd = encodePacket(header, Buffer.from([1, 2, 3])); // framing adds no padding of its own
    assert.equal(odd.length, 31);
    assert.equal(odd.readUInt32BE(0), 31);
    assert.equal(one.readUInt32BE(4), REMOTE_PROGRAM);
    const stream = Buffer.concat([one, encodePacket({ ...header, serial: 10 })]);
    for (const size of [1, 3, 5, 31, 64]) {
      const decoder = new PacketDecoder();
      const packets = [];
      for (let i = 0; i < stream.length; i += size) packets.push(...decoder.push(stream.subarray(i, i + size)));
      assert.deepEqual(
        packets.map((p) => [p.header.serial, [...p.payload]]),
        [
          [9, [1, 2, 3, 4]],
          [10, []],
        ],
        `chunk size ${size}`,
      );
    }
  });

  it('rejects lengths below the header size and above libvirt’s maximum', () => {
    const len = (n: number): Buffer => new XdrWriter().uint(n).finish();
    assert.throws(() => new PacketDecoder().push(len(27)), PacketError);
    assert.throws(() => new PacketDecoder().push(len(0)), /smaller than the 28-byte minimum/);
    assert.throws(() => new PacketDecoder().push(len(MAX_MESSAGE_BYTES + 5)), /exceeds libvirt's limit/);
    assert.equal(new PacketDecoder().push(len(MAX_MESSAGE_BYTES + 4)).length, 0); // allowed, just incomplete
  });
});

describe('URI resolution', () => {
  const env = (existing: string[] = []): UriEnvironment => ({
    exists: (p) => existing.includes(p),
    runtimeDir: '/run/user/1000',
    home: '/home/u',
  });

  it('qemu:///system uses the modular virtqemud socket where it exists, else libvirtd', () => {
    assert.deepEqual(resolveUri('qemu:///system', env()), {
      uri: 'qemu:///system',
      socketPath: '/run/libvirt/libvirt-sock',
      openUri: 'qemu:///system',
    });
    assert.equal(resolveUri('qemu:///system', env(['/run/libvirt/virtqemud-sock'])).socketPath, '/run/libvirt/virtqemud-sock');
  });

  it('qemu:///session uses the per-user runtime directory', () => {
    assert.equal(resolveUri('qemu:///session', env()).socketPath, '/run/user/1000/libvirt/libvirt-sock');
    assert.equal(
      resolveUri('qemu:///session', env(['/run/user/1000/libvirt/virtqemud-sock'])).socketPath,
      '/run/user/1000/libvirt/virtqemud-sock',
    );
    assert.equal(resolveUri('qemu:///session', { ...env(), runtimeDir: undefined }).socketPath, '/home/u/.cache/libvirt/libvirt-sock');
  });

  it('test:/// and test+unix:/// go to libvirtd, sending the URI without transport and client parameters', () => {
    assert.deepEqual(resolveUri('test:///tmp/node.xml', env()), {
      uri: 'test:///tmp/node.xml',
      socketPath: '/run/libvirt/libvirt-sock',
      openUri: 'test:///tmp/node.xml',
    });
    assert.deepEqual(resolveUri('test+unix:///default?socket=/tmp/x/libvirt-sock', env()), {
      uri: 'test+unix:///default?socket=/tmp/x/libvirt-sock',
      socketPath: '/tmp/x/libvirt-sock',
      openUri: 'test:///default',
    });
    assert.equal(resolveUri('qemu:///system?mode=legacy&foo=bar', env()).openUri, 'qemu:///system?foo=bar');
    // Parameters read as libvirt reads them: split on & (on ; where no & follows), %XX decoded and + left a
    // plus sign, names in any case, the last of a name counting; the kept ones passed on as written.
    assert.deepEqual(resolveUri('Test+UNIX:///default?no_tty=1&SOCKET=/tmp/a%20b+c&x=%41&socket=/tmp/d%C3%A9%zz', env()), {
      uri: 'Test+UNIX:///default?no_tty=1&SOCKET=/tmp/a%20b+c&x=%41&socket=/tmp/d%C3%A9%zz',
      socketPath: '/tmp/dé%zz',
      openUri: 'test:///default?x=%41',
    });
    assert.equal(resolveUri('test:///default?socket=/tmp/a+b', env()).socketPath, '/tmp/a+b');
    assert.equal(resolveUri('test:///default?no_tty=1;socket=/tmp/s', env()).socketPath, '/tmp/s');
    // libvirt cuts at ; only when no & follows: here no_tty's value runs to the &, and socket is not a parameter.
    assert.deepEqual(resolveUri('test:///default?no_tty=1;socket=/tmp/s&x=1', env()), {
      uri: 'test:///default?no_tty=1;socket=/tmp/s&x=1',
      socketPath: '/run/libvirt/libvirt-sock',
      openUri: 'test:///default?x=1',
    });
    // A parameter that starts with = is dropped; a fragment is not part of the query.
    assert.equal(resolveUri('test:///default?=x&&y=2#socket=/tmp/f', env()).openUri, 'test:///default?y=2');
    assert.equal(resolveUri('test:///default?=x&&y=2#socket=/tmp/f', env()).socketPath, '/run/libvirt/libvirt-sock');
    assert.equal(resolveUri('qemu:///system?name=qemu%3A%2F%2F%2Fsession&mode', env()).openUri, 'qemu:///session');
    // A user without a host is a local connection, as in libvirt; the path is passed on as written.
    assert.deepEqual(resolveUri('QEMU://root@/session%20x', env()), {
      uri: 'QEMU://root@/session%20x',
      socketPath: '/run/libvirt/libvirt-sock',
      openUri: 'qemu:///session%20x',
    });
  });

  it('refuses URIs that need a network transport or a remote host, naming the URI', () => {
    for (const uri of [
      'qemu+ssh://host/system',
      'qemu+tcp://host/system',
      'qemu+tls://host/system',
      'qemu://host/system',
      'qemu+ssh:///system',
      'qemu://user@host:22/system',
      'qemu://[::1]/system',
      'qemu://:16509/system',
    ]) {
      assert.throws(
        () => resolveUri(uri, env()),
        (err: unknown) => err instanceof UnsupportedUriError && err.uri === uri && err.message.includes(`'${uri}'`),
        uri,
      );
    }
    assert.throws(() => resolveUri('not a uri', env()), UnsupportedUriError);
  });
});
