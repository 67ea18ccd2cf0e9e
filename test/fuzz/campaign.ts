/**
 * One fuzzing run against every listener, shared by the CI test (test/fuzz/fuzz.test.ts) and the
 * command line (test/fuzz/run-fuzz.ts). Per listener it sends the seeded inputs, keeps asking
 * legitimate questions meanwhile, and checks the invariants:
 *  - the daemon is still running and answers legitimate requests (during the run and afterwards);
 *  - zero fencing actions (audit lines of off, on, reboot that were not refused) and every fixture
 *    domain still in its start state;
 *  - every legit status request with a fresh seqno got the right answer; no refused input got one;
 *  - the daemon never left a connection hanging, every datagram reached it, no log line was started by
 *    a peer's bytes.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Request } from '../../src/protocol/index.js';
import { waitUntil } from '../support/processes.js';
import { DaemonBed, FUZZ_SOURCES, nextProbeSeqno, type BedPorts } from './daemon-bed.js';
import { CONTROL, FIXTURE_DOMAINS, SERIAL_GUESTS, statusCode, TARGETS } from './fixture.js';
import { generateInputs, type FuzzInput, type ListenerName, type MulticastTargets } from './inputs.js';
import type { LogFollower } from './log-scan.js';
import { sendPieces, type Endpoint, type StreamOutcome } from './stream-client.js';
import { VsockBed } from './vsock-bed.js';

/** Examples kept per kind of finding; the count is always exact. */
const EXAMPLES = 10;

export class Findings {
  count = 0;
  readonly examples: string[] = [];

  add(what: string): void {
    if (++this.count <= EXAMPLES) this.examples.push(what);
  }
}

export interface ProbeStats {
  sent: number;
  failures: Findings;
  latenciesMs: number[];
}

export interface ListenerReport {
  listener: ListenerName;
  seed: number;
  inputs: number;
  bytes: number;
  kinds: Map<string, number>;
  /** Inputs the daemon may act on (all harmless). */
  legit: number;
  /** Legit status requests whose answer was checked. */
  checkedAnswers: number;
  wrongAnswers: Findings;
  /** Inputs that must be refused but were answered after a challenge-response. */
  refusedButAnswered: Findings;
  /** Connections the daemon neither answered nor closed in time, datagrams it did not take in time. */
  stalled: Findings;
  /** Multicast: datagrams the kernel dropped before the daemon read them. */
  datagramsDropped?: number;
  /** Multicast: calls back to the trap, and how many legit requests asked for one. */
  connectBacks?: { received: number; answered: number; asked: number };
  /** Serial: answers the daemon wrote to fuzzed frames. */
  serialAnswers?: number;
  probes: ProbeStats;
  actions: Findings;
  stateChanges: Findings;
  crashed: string | undefined;
  errorLines: Map<string, number>;
  malformedLogLines: Findings;
  rssBeforeKb: number;
  rssAfterKb: number;
  rssNote: string;
  durationMs: number;
}

/** The invariants a report breaks, in words; empty when all hold. */
export function violations(r: ListenerReport): string[] {
  const out: string[] = [];
  const list = (f: Findings, what: string) => f.count && out.push(`${f.count} ${what}: ${f.examples.join('; ')}`);
  if (r.crashed) out.push(`the daemon crashed: ${r.crashed}`);
  list(r.actions, 'unintended fencing actions');
  list(r.stateChanges, 'domains left their start state');
  list(r.probes.failures, 'legitimate probes not answered correctly');
  list(r.wrongAnswers, 'legit inputs answered wrongly or not at all');
  list(r.refusedButAnswered, 'refused inputs answered');
  list(r.stalled, 'inputs the daemon neither answered nor closed in time');
  list(r.malformedLogLines, 'log lines not started by the daemon');
  if (r.datagramsDropped) out.push(`${r.datagramsDropped} datagrams dropped before the daemon read them`);
  if (r.connectBacks && r.connectBacks.received > r.connectBacks.asked) {
    out.push(`${r.connectBacks.received} connect-backs, but only ${r.connectBacks.asked} legit requests asked for one`);
  }
  if (r.probes.sent === 0) out.push('no legitimate probe was made');
  return out;
}

export interface SessionPorts extends BedPorts {
  /** The vsock stand-in's first port (CIDs on this and the next 8). */
  vsockBase: number;
}

/** A legitimate request by the harness, on the listener at hand. */
export type Ask = (request: number, domain: string) => Promise<StreamOutcome>;

/** An answer code, or how the exchange ended without one. */
export function describeOutcome(o: StreamOutcome | { kind: string; code?: number }): string {
  if ('code' in o && o.code !== undefined) return `code ${o.code}`;
  return 'why' in o && o.why ? `${o.kind} (${o.why})` : o.kind;
}

/**
 * Before any fuzzing: a legitimate off + on of the control domain must show up as two actions (so the
 * audit reading sees actions), and every domain must then be in the state the fixture table says.
 */
async function startChecks(ask: Ask, log: LogFollower): Promise<void> {
  const before = log.update().actions.length;
  for (const request of [Request.OFF, Request.ON]) {
    const o = await ask(request, CONTROL.name);
    if (o.kind !== 'answered' || o.code !== 0) throw new Error(`control request ${request} on ${CONTROL.name} got ${describeOutcome(o)}`);
  }
  await waitUntil(() => log.update().actions.length - before === 2, 'both control actions in the audit log');
  const changed = await stateChanges(ask);
  if (changed.length) throw new Error(`the fixture table does not match the daemon's host list: ${changed.join(', ')}`);
}

/** Fixture domains whose state (from the daemon's own host list) differs from the start. */
export async function stateChanges(ask: Ask): Promise<string[]> {
  const o = await ask(Request.HOSTLIST, '');
  if (o.kind !== 'answered' || !o.hosts) return [`no host list (${describeOutcome(o)})`];
  const states = new Map(o.hosts.map((h) => [h.name, h.state]));
  return FIXTURE_DOMAINS.flatMap((d) =>
    states.get(d.name) === d.state ? [] : [`${d.name}: ${d.state} -> ${states.get(d.name) ?? 'missing'}`],
  );
}

/** Legitimate requests made one after another while inputs are sent. */
class ProbeLoop {
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly probes: readonly (() => Promise<string | undefined>)[],
    intervalMs: number,
    private readonly stats: ProbeStats,
  ) {
    this.done = (async () => {
      while (this.running) {
        await this.round();
        await sleep(intervalMs);
      }
    })();
  }

  /** Each probe resolves with why it failed, or undefined. */
  async round(): Promise<void> {
    for (const probe of this.probes) {
      const started = performance.now();
      const failure = await probe();
      this.stats.sent++;
      if (failure) this.stats.failures.add(failure);
      else this.stats.latenciesMs.push(performance.now() - started);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    // One more round once the inputs have all been sent: the daemon answers afterwards too.
    await this.round();
  }
}

function expectStatus(ask: Ask, via: string, domain = TARGETS[0] as (typeof TARGETS)[number]): () => Promise<string | undefined> {
  return async () => {
    const o = await ask(Request.STATUS, domain.name);
    const want = statusCode(domain.state);
    return o.kind === 'answered' && o.code === want
      ? undefined
      : `${via} status ${domain.name}: expected ${want}, got ${describeOutcome(o)}`;
  };
}

function flatten<T>(batches: Iterable<T[]>): Iterator<T> {
  return (function* () {
    for (const b of batches) yield* b;
  })();
}

function take<T>(it: Iterator<T>, n: number): T[] {
  const out: T[] = [];
  while (out.length < n) {
    const next = it.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

function newReport(listener: ListenerName, seed: number): ListenerReport {
  return {
    listener,
    seed,
    inputs: 0,
    bytes: 0,
    kinds: new Map(),
    legit: 0,
    checkedAnswers: 0,
    wrongAnswers: new Findings(),
    refusedButAnswered: new Findings(),
    stalled: new Findings(),
    probes: { sent: 0, failures: new Findings(), latenciesMs: [] },
    actions: new Findings(),
    stateChanges: new Findings(),
    crashed: undefined,
    errorLines: new Map(),
    malformedLogLines: new Findings(),
    rssBeforeKb: 0,
    rssAfterKb: 0,
    rssNote: '',
    durationMs: 0,
  };
}

function count(r: ListenerReport, input: FuzzInput): void {
  r.inputs++;
  r.bytes += input.pieces.reduce((n, p) => n + p.length, 0);
  r.kinds.set(input.kind, (r.kinds.get(input.kind) ?? 0) + 1);
  if (input.legit) r.legit++;
}

/** Applies what a stream input got back to the report. */
function judgeStream(r: ListenerReport, input: FuzzInput, o: StreamOutcome): void {
  const name = `#${input.index} (${input.kind})`;
  if (input.expectedCode !== undefined) {
    r.checkedAnswers++;
    if (o.kind !== 'answered' || o.code !== input.expectedCode)
      r.wrongAnswers.add(`${name}: expected ${input.expectedCode}, got ${describeOutcome(o)}`);
  }
  if (!input.legit && o.kind === 'answered') r.refusedButAnswered.add(`${name}: ${describeOutcome(o)}`);
  if (o.kind === 'stalled') r.stalled.add(`${name}: ${o.what}`);
}

/**
 * Several connections at once, spread over sources (or CIDs) so no per-source bound is reached, and
 * never more at one listening port than its accept queue holds (the daemon listens with a backlog of
 * 10; beyond that the kernel resets connections at random, which the flood measures instead).
 */
async function driveStream(
  r: ListenerReport,
  inputs: Iterator<FuzzInput>,
  endpoints: readonly Endpoint[],
  perEndpoint: number,
): Promise<void> {
  const workers = Array.from({ length: endpoints.length * perEndpoint }, async (_, w) => {
    const endpoint = endpoints[w % endpoints.length] as Endpoint;
    for (let next = inputs.next(); !next.done; next = inputs.next()) {
      const input = next.value;
      count(r, input);
      judgeStream(r, input, await sendPieces(endpoint, input.pieces, input.pausesMs, 5_000, input.holdOpen));
    }
  });
  await Promise.all(workers);
}

/** Receive-queue bytes and drops of the UDP sockets bound to `port` in this namespace. */
export function udpSocketStats(port: number): { queued: number; drops: number } {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let queued = 0;
  let drops = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (!f[1]?.endsWith(hexPort)) continue;
      queued += parseInt(f[4]?.split(':')[1] ?? '0', 16);
      drops += Number(f.at(-1));
    }
  }
  return { queued, drops };
}

/** Datagrams in bursts, each burst sent only once the daemon has read the previous one. */
async function driveMulticast(r: ListenerReport, inputs: Iterator<FuzzInput>, bed: DaemonBed): Promise<void> {
  const BURST = 100;
  const socket = createSocket('udp4');
  const port = bed.ports.multicast;
  const dropsBefore = udpSocketStats(port).drops;
  const trapBefore = { connections: bed.trap.connections, answered: bed.trap.answered };
  let asked = 0;
  try {
    for (let burst = take(inputs, BURST); burst.length > 0; burst = take(inputs, BURST)) {
      await Promise.all(
        burst.map((input) => {
          count(r, input);
          if (input.callsTrap) asked++;
          return new Promise<void>((resolve, reject) =>
            socket.send(input.pieces[0] as Buffer, port, '225.0.0.12', (err) => (err ? reject(err) : resolve())),
          );
        }),
      );
      try {
        await waitUntil(() => udpSocketStats(port).queued === 0, 'the daemon reading its datagrams', 10_000);
      } catch (err) {
        r.stalled.add(`burst ending at #${(burst.at(-1) as FuzzInput).index}: ${(err as Error).message}`);
      }
    }
  } finally {
    socket.close();
  }
  r.datagramsDropped = udpSocketStats(port).drops - dropsBefore;
  // Calls back still under way finish within the trap's own deadline.
  await new Promise((res) => setTimeout(res, 200));
  r.connectBacks = { received: bed.trap.connections - trapBefore.connections, answered: bed.trap.answered - trapBefore.answered, asked };
}

/**
 * Each serial guest's line takes inputs in batches; every batch ends with a host-list request of the
 * harness, whose answer (the only host list on the line: fuzzed frames never ask for one) shows the
 * daemon has read and handled everything before it. These requests are the serial probes.
 */
async function driveSerial(r: ListenerReport, inputs: Iterator<FuzzInput>, bed: DaemonBed): Promise<void> {
  const BATCH = 20;
  let answers = 0;
  await Promise.all(
    SERIAL_GUESTS.map(async (guest, g) => {
      for (let batch = take(inputs, BATCH); batch.length > 0; batch = take(inputs, BATCH)) {
        batch.forEach((input) => count(r, input));
        const started = performance.now();
        r.probes.sent++;
        const outcome = await serialBatch(bed, g, batch);
        answers += outcome.answers;
        if (outcome.failure === undefined) {
          r.probes.latenciesMs.push(performance.now() - started);
          continue;
        }
        r.probes.failures.add(`${guest.name}, batch ending at #${(batch.at(-1) as FuzzInput).index}: ${outcome.failure}`);
        // The daemon reconnects a socket that ended; wait for that before going on.
        await bed.daemon
          .waitUntil(() => bed.serialLine(g) !== undefined, `a connection to ${guest.name} again`, 15_000)
          .catch(() => undefined);
      }
    }),
  );
  r.serialAnswers = answers;
}

/** Sends a batch and its host-list request; counts the answers to fuzzed frames before the host list. */
async function serialBatch(bed: DaemonBed, g: number, batch: FuzzInput[]): Promise<{ failure?: string; answers: number }> {
  const line = bed.serialLine(g);
  const port = bed.serialPorts[g];
  if (!line || !port) return { failure: 'no open connection to the guest socket', answers: 0 };
  line.send(Buffer.concat(batch.flatMap((i) => i.pieces)));
  line.send(port.request({ request: Request.HOSTLIST, seqno: nextProbeSeqno() }));
  let answers = 0;
  try {
    for (;;) {
      const answer = await line.answer(10_000);
      if (!('hosts' in answer)) {
        answers++;
        continue;
      }
      const own = SERIAL_GUESTS[g]?.name;
      const failure = answer.hosts.some((h) => h.name === own)
        ? undefined
        : `host list without ${own}: ${answer.hosts.map((h) => h.name).join(', ')}`;
      return { failure, answers };
    }
  } catch (err) {
    return { failure: `no host list: ${(err as Error).message}`, answers };
  }
}

/** Multicast port pieces the generator needs. */
export function multicastTargets(ports: BedPorts): MulticastTargets {
  return { trapPort: ports.trap, otherPorts: [ports.tcp] };
}

/**
 * The daemons of a run: the built one (multicast, TCP, serial) and the in-process vsock listener,
 * each started when a listener first needs it. One duplicate-window model covers the built daemon's
 * listeners, which share the daemon's history.
 */
export class FuzzSession {
  private bed: DaemonBed | undefined;
  private vsock: VsockBed | undefined;
  private readonly seen = new Map<'daemon' | 'vsock', Set<string>>([
    ['daemon', new Set()],
    ['vsock', new Set()],
  ]);

  constructor(readonly ports: SessionPorts) {}

  private async daemonBed(): Promise<DaemonBed> {
    if (!this.bed) {
      const bed = await DaemonBed.start(this.ports, 1);
      this.bed = bed;
      await startChecks((req, d) => bed.tcp(req, d), bed.log);
    }
    return this.bed;
  }

  private async vsockBed(): Promise<VsockBed> {
    if (!this.vsock) {
      const bed = await VsockBed.start(this.ports.vsockBase);
      this.vsock = bed;
      await startChecks((req, d) => bed.request(req, d), bed.log);
    }
    return this.vsock;
  }

  async run(listener: ListenerName, seed: number, count: number): Promise<ListenerReport> {
    const r = newReport(listener, seed);
    const isVsock = listener === 'vsock';
    const daemon = isVsock ? undefined : await this.daemonBed();
    const vsock = isVsock ? await this.vsockBed() : undefined;
    const target = (daemon ?? vsock) as DaemonBed | VsockBed;
    const ask: Ask = daemon ? (req, d) => daemon.tcp(req, d) : (req, d) => (vsock as VsockBed).request(req, d);
    const log = target.log;
    const scan = log.update();
    const actionsBefore = scan.actions.length;
    const malformedBefore = scan.malformed.length;
    const errorsBefore = new Map(scan.errors);
    r.rssBeforeKb = target.rssKb();
    r.rssNote = daemon ? 'the daemon process' : 'this process (the listener runs inside the harness)';
    const inputs = flatten(
      generateInputs(listener, seed, count, multicastTargets(this.ports), this.seen.get(isVsock ? 'vsock' : 'daemon') as Set<string>),
    );
    const started = performance.now();

    const off = TARGETS.find((t) => t.name === 'fz-off') as (typeof TARGETS)[number];
    const probes = daemon
      ? [expectStatus(ask, 'tcp'), expectStatus(ask, 'tcp', off), multicastProbe(daemon)]
      : [expectStatus(ask, 'vsock'), expectStatus(ask, 'vsock', off)];
    const loop = new ProbeLoop(probes, 250, r.probes);
    try {
      if (listener === 'multicast') await driveMulticast(r, inputs, daemon as DaemonBed);
      else if (listener === 'serial') await driveSerial(r, inputs, daemon as DaemonBed);
      // TCP: one port, 8 sources x 1 (+ a probe); vsock: a port per CID, 6 each.
      else if (listener === 'tcp')
        await driveStream(
          r,
          inputs,
          FUZZ_SOURCES.map((localAddress) => ({ port: this.ports.tcp, localAddress })),
          1,
        );
      else await driveStream(r, inputs, (vsock as VsockBed).fuzzEndpoints, 6);
    } finally {
      await loop.stop();
    }
    r.durationMs = performance.now() - started;

    for (const change of await stateChanges(ask)) r.stateChanges.add(change);
    if (daemon && !daemon.daemon.running) r.crashed = daemon.daemon.output().split('\n').slice(-5).join(' | ');
    const after = log.update();
    after.actions.slice(actionsBefore).forEach((a) => r.actions.add(a));
    after.malformed.slice(malformedBefore).forEach((m) => r.malformedLogLines.add(m));
    for (const [shape, n] of after.errors)
      if (n > (errorsBefore.get(shape) ?? 0)) r.errorLines.set(shape, n - (errorsBefore.get(shape) ?? 0));
    r.rssAfterKb = target.rssKb();
    return r;
  }

  /** The built daemon's output and the vsock listener's log lines so far. */
  logs(): string {
    return [this.bed && `== built daemon\n${this.bed.daemon.output()}`, this.vsock && `== vsock listener\n${this.vsock.logText()}`]
      .filter(Boolean)
      .join('\n');
  }

  async stop(): Promise<void> {
    await this.bed?.stop();
    await this.vsock?.stop();
  }
}

function multicastProbe(bed: DaemonBed): () => Promise<string | undefined> {
  return async () => {
    const o = await bed.multicastStatus((TARGETS[0] as (typeof TARGETS)[number]).name);
    return o.kind === 'code' && o.code === 0 ? undefined : `multicast status: expected 0, got ${describeOutcome(o)}`;
  };
}
