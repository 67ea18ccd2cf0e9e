/**
 * What the fuzzer sends, built with fast-check from a seed: mutations of signed requests (bit and byte
 * changes, truncation, extension, fields changed after signing, every hash type, wrong keys, domain
 * fields without a NUL or with control bytes, extreme field values), streams split at random points,
 * serial byte streams of magic-framed requests among garbage, and plain random bytes.
 *
 * The generator knows which inputs the daemon may act on: only an intact request, correctly signed with
 * the right key, strong enough, well-formed and allowed on its transport ("legit"). Legit inputs never
 * carry a fencing operation, so every fencing action during a run is unintended; everything else may ask
 * for anything.
 */
import fc from 'fast-check';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { signRequest } from '../../src/auth/request-signature.js';
import { FLAG_PROTOCOL_2 } from '../../src/protocol/v2.js';
import {
  decodeSerialRequest,
  DOMAIN_FIELD_SIZE,
  Family,
  FENCE_REQUEST_SIZE,
  FenceRequestLayout as L,
  Hash,
  isHashType,
  MAGIC_BYTES,
  MagicFramer,
  Request,
  SERIAL_REQUEST_SIZE,
  SERIAL_MAGIC,
  type SerialRequest,
} from '../../src/protocol/index.js';
import { KEY, SERIAL_GUESTS, statusCode, TARGETS } from './fixture.js';

export type ListenerName = 'multicast' | 'tcp' | 'serial' | 'vsock';
export const LISTENERS: readonly ListenerName[] = ['multicast', 'tcp', 'serial', 'vsock'];

export interface FuzzInput {
  /** Position in the run (0-based): with the seed and listener it names the input exactly. */
  index: number;
  /** Which generator made it, for the report. */
  kind: string;
  /** Written one after another (streams); a multicast input is one datagram. */
  pieces: Buffer[];
  /** Pause before each piece (ms). */
  pausesMs: number[];
  /** The daemon may act on it (always a harmless operation). */
  legit: boolean;
  /** A legit status request with a fresh seqno and nothing after it: the answer the daemon owes. */
  expectedCode?: number;
  /** A legit multicast request that asks to be called back at the harness's trap. */
  callsTrap?: boolean;
  /**
   * Less than a request, and the connection is then held open (not half-closed), so the daemon must
   * end it by its own read deadline.
   */
  holdOpen?: boolean;
}

/**
 * Where fuzzed multicast requests ask to be called back: the harness's trap. Not 127.0.0.1, which
 * belongs to the harness's own probes (connect-backs are bounded per address).
 */
export const TRAP_ADDRESS = '127.0.0.2';
const trapAddressBytes = new Uint8Array([127, 0, 0, 2, ...new Uint8Array(24)]);

export interface MulticastTargets {
  trapPort: number;
  /** Other ports worth naming: the daemon's own TCP port, nothing at all. */
  otherPorts: readonly number[];
}

/** Seqnos from here up are the harness's own probes; fuzzed requests stay below. */
export const PROBE_SEQNO_BASE = 0xfe000000;
/** A serial input is followed by this many zero bytes: whatever frame it left open is completed, so the next starts clean. */
const SERIAL_FLUSH = 2 * SERIAL_REQUEST_SIZE;
const FENCING = new Set<number>([Request.OFF, Request.ON, Request.REBOOT]);

// ---- request fields ----

const wrongKeys = [
  new AuthKey(Buffer.from('a wrong key\n')),
  new AuthKey(KEY.bytes.subarray(0, KEY.bytes.length - 1)),
  new AuthKey(Buffer.concat([KEY.bytes, Buffer.of(0)])),
  new AuthKey(Buffer.alloc(0)),
];
const keyIndex = fc.oneof(
  { arbitrary: fc.constant(-1), weight: 5 },
  { arbitrary: fc.integer({ min: 0, max: wrongKeys.length - 1 }), weight: 2 },
);

const targetNames = TARGETS.flatMap((d) => [d.name, d.uuid, d.uuid.toUpperCase()]);
const utf8 = (s: string) => new Uint8Array(Buffer.from(s));

/** Domain field contents (0-64 bytes; 64 means no NUL fits). */
const domainBytes = fc.oneof(
  { arbitrary: fc.constantFrom(...targetNames).map(utf8), weight: 8 },
  { arbitrary: fc.constantFrom('', 'no-such-domain', 'FZ-RUN-1', 'fz-run-1 ', '*', '%s%n').map(utf8), weight: 2 },
  {
    // A target name with control bytes inside (newline, escape, DEL, NUL in the middle).
    arbitrary: fc
      .tuple(fc.constantFrom(...targetNames), fc.nat(12), fc.constantFrom(0x0a, 0x0d, 0x1b, 0x7f, 0x00, 0x08, 0x09, 0xff))
      .map(([name, at, byte]) => {
        const b = Buffer.from(name);
        const i = Math.min(at, b.length);
        return new Uint8Array(Buffer.concat([b.subarray(0, i), Buffer.of(byte), b.subarray(i)]).subarray(0, DOMAIN_FIELD_SIZE));
      }),
    weight: 2,
  },
  { arbitrary: fc.uint8Array({ minLength: 63, maxLength: 64, min: 0x21, max: 0x7e }), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 64, size: 'max' }), weight: 1 },
);

const requestCode = fc.oneof(
  { arbitrary: fc.constantFrom(Request.OFF, Request.ON, Request.REBOOT), weight: 6 },
  { arbitrary: fc.integer({ min: Request.NULL, max: Request.VALIDATEALL }), weight: 3 },
  { arbitrary: fc.constantFrom(9, 0x7f, 0x80, 0xfd, 0xff), weight: 1 },
);
const hashType = fc.oneof(
  { arbitrary: fc.constantFrom(Hash.SHA256, Hash.SHA512), weight: 6 },
  { arbitrary: fc.constantFrom(Hash.NONE, Hash.SHA1), weight: 2 },
  { arbitrary: fc.integer({ min: 4, max: 255 }), weight: 1 },
);
const seqno = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: PROBE_SEQNO_BASE - 1 }), weight: 8 },
  { arbitrary: fc.constantFrom(0, 0xffffffff, 0x7fffffff, 0x80000000), weight: 1 },
);
const u32 = fc.oneof(fc.constantFrom(0, 1, 0xffff, 0x7fffffff, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));

interface Connect {
  family: number;
  addrLen: number;
  address: Uint8Array;
  port: number;
}

const noAddress = new Uint8Array(28);
const ipv6Loopback = new Uint8Array([...new Uint8Array(15), 1, ...new Uint8Array(12)]);

/** Connect-back fields: none (TCP, vsock), or where the multicast request wants the daemon to call. */
function connectFields(listener: ListenerName, mc: MulticastTargets): fc.Arbitrary<Connect> {
  const normal: Connect =
    listener === 'multicast'
      ? { family: Family.INET, addrLen: 4, address: trapAddressBytes, port: mc.trapPort }
      : { family: Family.NONE, addrLen: 0, address: noAddress, port: 0 };
  const extreme = fc.record({
    family: fc.oneof(fc.constantFrom(Family.NONE, Family.INET, Family.INET6), u32),
    addrLen: fc.oneof(fc.constantFrom(0, 4, 16), fc.integer({ min: 0, max: 255 })),
    address: fc.oneof(
      fc.constant(noAddress),
      fc.constant(trapAddressBytes),
      fc.constant(ipv6Loopback),
      fc.uint8Array({ minLength: 28, maxLength: 28 }),
    ),
    port: fc.oneof(fc.constantFrom(0, 1, 65535, mc.trapPort, ...mc.otherPorts), fc.integer({ min: 0, max: 65535 })),
  });
  return fc.oneof({ arbitrary: fc.constant(normal), weight: 5 }, { arbitrary: extreme, weight: 2 });
}

interface RequestSpec extends Connect {
  request: number;
  hashType: number;
  /** -1: the right key; otherwise an index into wrongKeys. */
  key: number;
  flags: number;
  domain: Uint8Array;
  /** Non-zero bytes after the domain's NUL, as the C tools leave them (none when empty). */
  stale: Uint8Array;
  seqno: number;
  random: Uint8Array;
}

function requestSpec(listener: ListenerName, mc: MulticastTargets): fc.Arbitrary<RequestSpec> {
  return (
    fc
      .record({
        request: requestCode,
        hashType,
        key: keyIndex,
        // Any flags but the version 2 offer: a signed offer asks for a version 2 exchange (with a fresh
        // timestamp), which this version 1 client cannot follow; test/protocol-v2 covers that path.
        flags: fc.oneof(
          { arbitrary: fc.constant(0), weight: 5 },
          { arbitrary: fc.integer({ min: 0, max: 255 }).map((f) => f & ~FLAG_PROTOCOL_2), weight: 1 },
        ),
        domain: domainBytes,
        stale: fc.oneof(
          { arbitrary: fc.constant(new Uint8Array(0)), weight: 9 },
          { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 8, min: 1 }), weight: 1 },
        ),
        seqno,
        random: fc.uint8Array({ minLength: 6, maxLength: 6 }),
        connect: connectFields(listener, mc),
      })
      // Stale bytes exist only where the field has room after the NUL.
      .map(({ connect, stale, ...rest }) => ({
        ...rest,
        ...connect,
        stale: stale.subarray(0, Math.max(0, DOMAIN_FIELD_SIZE - rest.domain.length - 1)),
      }))
  );
}

/** The 176-byte request, signed when its hash type is known (unknown types get the random bytes as "hash"). */
function encode(spec: RequestSpec): Buffer {
  const p = Buffer.alloc(FENCE_REQUEST_SIZE);
  p[L.request] = spec.request;
  p[L.hashType] = spec.hashType;
  p[L.addrLen] = spec.addrLen;
  p[L.flags] = spec.flags;
  p.set(spec.domain, L.domain);
  p.set(spec.stale, L.domain + spec.domain.length + 1);
  p.set(spec.address, L.address);
  p.writeUInt16LE(spec.port, L.port);
  p.writeUInt32LE(spec.seqno >>> 0, L.seqno);
  p.writeUInt32LE(spec.family >>> 0, L.family);
  if (isHashType(spec.hashType)) signRequest(p, spec.key < 0 ? KEY : (wrongKeys[spec.key] as AuthKey), spec.random);
  else p.set(spec.random, L.hash);
  return p;
}

/** Whether the unmutated request is one the daemon must execute on this transport. */
function executable(spec: RequestSpec, packet: Buffer, listener: ListenerName): boolean {
  if (spec.key >= 0 || (spec.hashType !== Hash.SHA256 && spec.hashType !== Hash.SHA512)) return false;
  // The domain field decodes only with a NUL and nothing but NULs after it.
  const field = packet.subarray(L.domain, L.domain + DOMAIN_FIELD_SIZE);
  const nul = field.indexOf(0);
  if (nul === -1 || field.subarray(nul).some((b) => b !== 0)) return false;
  if (listener === 'multicast') return spec.family === Family.INET || spec.family === Family.INET6;
  // TCP and vsock refuse any connect-back field (address length included: their clients zero it).
  return spec.family === Family.NONE && spec.addrLen === 0 && spec.port === 0 && spec.address.every((b) => b === 0);
}

// ---- mutations ----

type Mutation =
  | { type: 'intact' }
  | { type: 'xor'; edits: { at: number; mask: number }[] }
  | { type: 'truncate'; length: number }
  | { type: 'extend'; tail: Uint8Array }
  | { type: 'field'; at: number; bytes: Uint8Array }
  | { type: 'splice'; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.constant({ type: 'intact' as const }), weight: 3 },
  {
    arbitrary: fc
      .uniqueArray(fc.integer({ min: 0, max: FENCE_REQUEST_SIZE * 8 - 1 }), { minLength: 1, maxLength: 8 })
      .map((bits) => ({ type: 'xor' as const, edits: bits.map((b) => ({ at: b >> 3, mask: 1 << (b & 7) })) })),
    weight: 5,
  },
  {
    arbitrary: fc
      .uniqueArray(fc.record({ at: fc.integer({ min: 0, max: FENCE_REQUEST_SIZE - 1 }), mask: fc.integer({ min: 1, max: 255 }) }), {
        minLength: 1,
        maxLength: 4,
        selector: (e) => e.at,
      })
      .map((edits) => ({ type: 'xor' as const, edits })),
    weight: 2,
  },
  { arbitrary: fc.integer({ min: 0, max: FENCE_REQUEST_SIZE - 1 }).map((length) => ({ type: 'truncate' as const, length })), weight: 3 },
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300, size: 'max' }).map((tail) => ({ type: 'extend' as const, tail })), weight: 2 },
  {
    // A field overwritten after signing: request code, hash type, port, seqno, family.
    arbitrary: fc
      .oneof(
        fc.integer({ min: 0, max: 255 }).map((v) => ({ at: L.request, bytes: Uint8Array.of(v) })),
        fc.integer({ min: 0, max: 255 }).map((v) => ({ at: L.hashType, bytes: Uint8Array.of(v) })),
        fc.constantFrom(0, 1, 0xffff).map((v) => ({ at: L.port, bytes: Uint8Array.of(v & 0xff, v >> 8) })),
        u32.map((v) => ({ at: L.seqno, bytes: le32(v) })),
        u32.map((v) => ({ at: L.family, bytes: le32(v) })),
      )
      .map((f) => ({ type: 'field' as const, ...f })),
    weight: 2,
  },
  {
    arbitrary: fc
      .record({
        at: fc.integer({ min: 0, max: FENCE_REQUEST_SIZE - 1 }),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 64, size: 'max' }),
      })
      .map((s) => ({ type: 'splice' as const, ...s })),
    weight: 1,
  },
);

function le32(v: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}

function mutate(packet: Buffer, m: Mutation): Buffer {
  const out = Buffer.from(packet);
  switch (m.type) {
    case 'intact':
      return out;
    case 'xor':
      for (const { at, mask } of m.edits) out[at] = (out[at] as number) ^ mask;
      return out;
    case 'truncate':
      return out.subarray(0, m.length);
    case 'extend':
      return Buffer.concat([out, m.tail]);
    case 'field':
    case 'splice':
      out.set(m.bytes.subarray(0, FENCE_REQUEST_SIZE - m.at), m.at);
      return out;
  }
}

interface Built {
  bytes: Buffer;
  legit: boolean;
  /** The intact request, alone (nothing before or after it). */
  whole: boolean;
  spec: RequestSpec;
}

/**
 * Mutates a signed request and decides whether the daemon may act on the result: the request must
 * have reached it intact (streams read the first 176 bytes; a datagram must be exactly the request).
 * A legit result that asks for fencing is rebuilt as a status request with the same mutation.
 */
function build(spec: RequestSpec, m: Mutation, listener: ListenerName): Built {
  const packet = encode(spec);
  const bytes = mutate(packet, m);
  const intact =
    listener === 'multicast'
      ? bytes.equals(packet)
      : bytes.length >= FENCE_REQUEST_SIZE && bytes.subarray(0, FENCE_REQUEST_SIZE).equals(packet);
  const legit = intact && executable(spec, packet, listener);
  if (legit && FENCING.has(spec.request)) return build({ ...spec, request: Request.STATUS }, m, listener);
  return { bytes, legit, whole: bytes.length === FENCE_REQUEST_SIZE, spec };
}

// ---- stream splitting ----

interface Split {
  cuts: number[];
  pauses: number[];
}

const split: fc.Arbitrary<Split> = fc.oneof(
  { arbitrary: fc.constant<Split>({ cuts: [], pauses: [] }), weight: 4 },
  {
    arbitrary: fc.record({
      cuts: fc.uniqueArray(fc.nat(FENCE_REQUEST_SIZE + 300), { minLength: 1, maxLength: 6 }),
      pauses: fc.array(fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 25 }), weight: 1 }), {
        minLength: 6,
        maxLength: 6,
      }),
    }),
    weight: 3,
  },
);

function pieces(bytes: Buffer, s: Split): { pieces: Buffer[]; pausesMs: number[] } {
  const cuts = s.cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  return { pieces: out, pausesMs: out.map((_, i) => (i === 0 ? 0 : (s.pauses[i - 1] ?? 0))) };
}

// ---- per-listener inputs ----

/** `status`: a legit status request, which claims its seqno in the daemon's duplicate window; `whole` if nothing follows it. */
type Draft = Omit<FuzzInput, 'index' | 'expectedCode'> & { status?: { spec: RequestSpec; whole: boolean } };

function streamDraft(listener: ListenerName, mc: MulticastTargets): fc.Arbitrary<Draft> {
  const request = fc.tuple(requestSpec(listener, mc), mutation, split).map(([spec, m, s]): Draft => {
    const built = build(spec, m, listener);
    const p = pieces(built.bytes, s);
    const kind = `${m.type}${spec.key >= 0 ? ', wrong key' : ''}${p.pieces.length > 1 ? ', split' : ''}`;
    const draft: Draft = { kind, ...p, legit: built.legit };
    if (built.legit && built.spec.request === Request.STATUS) draft.status = { spec: built.spec, whole: built.whole };
    return draft;
  });
  const random = fc
    .tuple(
      fc.oneof(
        fc.uint8Array({ maxLength: 400, size: 'max' }),
        fc.uint8Array({ minLength: FENCE_REQUEST_SIZE, maxLength: FENCE_REQUEST_SIZE }),
      ),
      split,
    )
    .map(([bytes, s]): Draft => ({ kind: 'random bytes', ...pieces(Buffer.from(bytes), s), legit: false }));
  const hold = fc.oneof({ arbitrary: fc.constant(false), weight: 49 }, { arbitrary: fc.constant(true), weight: 1 });
  return fc.tuple(fc.oneof({ arbitrary: request, weight: 9 }, { arbitrary: random, weight: 1 }), hold).map(([draft, holdOpen]) => {
    const short = draft.pieces.reduce((n, p) => n + p.length, 0) < FENCE_REQUEST_SIZE;
    return short && holdOpen ? { ...draft, kind: `${draft.kind}, held open`, holdOpen } : draft;
  });
}

function multicastDraft(mc: MulticastTargets): fc.Arbitrary<Draft> {
  const request = fc.tuple(requestSpec('multicast', mc), mutation).map(([spec, m]): Draft => {
    const built = build(spec, m, 'multicast');
    const draft: Draft = {
      kind: `${m.type}${spec.key >= 0 ? ', wrong key' : ''}`,
      pieces: [built.bytes],
      pausesMs: [0],
      legit: built.legit,
    };
    if (built.legit) {
      draft.callsTrap = built.spec.family === Family.INET && built.spec.address === trapAddressBytes && built.spec.port === mc.trapPort;
      if (built.spec.request === Request.STATUS) draft.status = { spec: built.spec, whole: false };
    }
    return draft;
  });
  const random = fc
    .oneof(fc.uint8Array({ maxLength: 2048, size: 'max' }), fc.uint8Array({ minLength: FENCE_REQUEST_SIZE, maxLength: FENCE_REQUEST_SIZE }))
    .map((bytes): Draft => ({ kind: 'random bytes', pieces: [Buffer.from(bytes)], pausesMs: [0], legit: false }));
  return fc.oneof({ arbitrary: request, weight: 9 }, { arbitrary: random, weight: 1 });
}

// Serial: requests have no signature; the permission map is what stops a guest. Fuzzed frames never
// name a serial guest (the only targets a guest may act on), and never ask for the host list, whose
// answer marks the harness's probe on the line.
const serialGuestNames = new Set(SERIAL_GUESTS.flatMap((g) => [g.name, g.uuid]));

function serialFrame(): fc.Arbitrary<Buffer> {
  return fc
    .tuple(
      requestCode,
      fc.integer({ min: 0, max: 255 }),
      domainBytes,
      seqno,
      fc.oneof({ arbitrary: fc.constant(null), weight: 2 }, { arbitrary: mutation, weight: 3 }),
    )
    .map(([request, flags, domain, seq, m]) => {
      const frame = Buffer.alloc(SERIAL_REQUEST_SIZE);
      frame.writeUInt32LE(SERIAL_MAGIC, 0);
      frame[4] = request;
      frame[5] = flags;
      frame.set(domain, 6);
      frame.writeUInt32LE(seq >>> 0, 70);
      if (!m || m.type === 'intact') return frame;
      // The fence_req mutations, cut down to a serial frame's size.
      const mutated = mutate(Buffer.concat([frame, Buffer.alloc(FENCE_REQUEST_SIZE - SERIAL_REQUEST_SIZE)]), m);
      return m.type === 'extend' ? Buffer.concat([frame, m.tail]) : mutated.subarray(0, Math.min(mutated.length, SERIAL_REQUEST_SIZE));
    });
}

const serialSegment = fc.oneof(
  { arbitrary: serialFrame(), weight: 5 },
  { arbitrary: fc.uint8Array({ maxLength: 200, size: 'max' }).map((b) => Buffer.from(b)), weight: 3 },
  { arbitrary: fc.constantFrom('a', 'ab', 'abb', 'abba', 'abbaabba').map((s) => Buffer.from(s)), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 80, size: 'max' }).map((b) => Buffer.concat([Buffer.from(MAGIC_BYTES), b])), weight: 1 },
);

/** The frames the daemon's serial framer finds in bytes sent on a clean line. */
function serialFrames(bytes: Buffer): SerialRequest[] {
  const framer = new MagicFramer(SERIAL_REQUEST_SIZE, (f) => decodeSerialRequest(f, { acceptUnknownRequest: true }));
  return framer.push(bytes).flatMap((e) => (e.type === 'frame' ? [e.value] : []));
}

function serialDraft(): fc.Arbitrary<Draft> {
  return fc
    .oneof(
      {
        arbitrary: fc
          .array(serialSegment, { minLength: 1, maxLength: 6 })
          .map((segs) => ({ kind: 'framed requests and garbage', bytes: Buffer.concat(segs) })),
        weight: 9,
      },
      {
        arbitrary: fc.uint8Array({ maxLength: 600, size: 'max' }).map((b) => ({ kind: 'random bytes', bytes: Buffer.from(b) })),
        weight: 1,
      },
    )
    .map(({ kind, bytes }) => ({ kind, bytes: Buffer.concat([bytes, Buffer.alloc(SERIAL_FLUSH)]) }))
    .filter(({ bytes }) =>
      serialFrames(bytes).every((f) => f.request !== Request.HOSTLIST && !serialGuestNames.has(f.domain.toLowerCase())),
    )
    .map(({ kind, bytes }): Draft => ({ kind, pieces: [bytes], pausesMs: [0], legit: false }));
}

function draftsFor(listener: ListenerName, mc: MulticastTargets): fc.Arbitrary<Draft> {
  if (listener === 'multicast') return multicastDraft(mc);
  if (listener === 'serial') return serialDraft();
  return streamDraft(listener, mc);
}

const BATCH = 1000;

/** A 32-bit seed for one batch of one listener's inputs, so any input can be regenerated alone. */
function batchSeed(seed: number, listener: ListenerName, batch: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const n of [LISTENERS.indexOf(listener) + 1, batch + 1]) {
    h = Math.imul(h ^ n, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h | 0;
}

/**
 * The inputs of one listener, batch by batch (a 100,000-input run never holds them all). Legit
 * status requests get an expected answer when their seqno is fresh in `seen`, which the caller
 * shares across the listeners of one daemon: a repeat within the duplicate window is dropped.
 */
export function* generateInputs(
  listener: ListenerName,
  seed: number,
  count: number,
  mc: MulticastTargets,
  seen: Set<string>,
): Generator<FuzzInput[]> {
  const arb = draftsFor(listener, mc);
  for (let batch = 0; batch * BATCH < count; batch++) {
    const n = Math.min(BATCH, count - batch * BATCH);
    const drafts = fc.sample(arb, { seed: batchSeed(seed, listener, batch), numRuns: n });
    yield drafts.map(({ status, ...draft }, i) => {
      const input: FuzzInput = { index: batch * BATCH + i, ...draft };
      if (status) {
        const domain = Buffer.from(status.spec.domain).toString().split('\0')[0] as string;
        const key = `${status.spec.seqno}\0${domain.toLowerCase()}`;
        const fresh = !seen.has(key);
        seen.add(key);
        const target = TARGETS.find((t) => t.name === domain || t.uuid === domain.toLowerCase());
        if (fresh && status.whole && target) input.expectedCode = statusCode(target.state);
      }
      return input;
    });
  }
}

/** One input alone, for reproducing a report (`--dump`). */
export function inputAt(listener: ListenerName, seed: number, index: number, mc: MulticastTargets): FuzzInput {
  const batch = Math.floor(index / BATCH);
  const drafts = fc.sample(draftsFor(listener, mc), { seed: batchSeed(seed, listener, batch), numRuns: (index % BATCH) + 1 });
  const { status: _status, ...draft } = drafts[index % BATCH] as Draft;
  return { index, ...draft };
}
