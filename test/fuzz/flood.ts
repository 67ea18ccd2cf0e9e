/**
 * Junk at a fixed rate against the built daemon (default 1,000 TCP connections and 1,000 multicast
 * datagrams per second, for a bounded time, loopback in a private namespace only), while legitimate
 * status requests over TCP and multicast keep being made; their latencies are compared with the same
 * requests made before the flood.
 *
 * Junk connections: most write up to 400 random bytes and half-close; some write less than a request
 * and hold the connection until the daemon drops it; some send nothing. They come from several source
 * addresses (not the probes' one). Junk datagrams: random bytes, and well-formed requests signed with a
 * wrong key.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { Family, Request } from '../../src/protocol/index.js';
import { signedRequest } from '../support/raw-client.js';
import { describeOutcome, Findings, stateChanges, udpSocketStats } from './campaign.js';
import { FUZZ_SOURCES, type DaemonBed } from './daemon-bed.js';
import { statusCode, TARGETS } from './fixture.js';
import { ms, percentile } from './report.js';

export interface FloodOptions {
  seconds: number;
  connectionsPerSecond?: number;
  datagramsPerSecond?: number;
}

interface Latencies {
  tcp: number[];
  multicast: number[];
}

export interface FloodReport {
  seconds: number;
  /** How long sending the flood and waiting out its connections took. */
  tookMs: number;
  connectionsPerSecond: number;
  datagramsPerSecond: number;
  /** Connections tried; of them connected, refused or reset before connecting, given up while still connecting. */
  junk: { attempts: number; connections: number; connectFailures: number; connectTimeouts: number; datagrams: number };
  baseline: Latencies;
  flooded: Latencies;
  failures: string[];
  limitWarnings: number;
  /** Connections the kernel could not queue for the daemon's accept (TcpExt ListenOverflows of this namespace). */
  listenOverflows: number;
  /** Datagrams the kernel dropped because the daemon's receive queue was full. */
  datagramsDropped: number;
  rssBeforeKb: number;
  rssAfterKb: number;
}

/** A junk connection is dropped by us after this long, connected or not (the daemon ends its own within 1 s of a request read). */
const HOLD_MAX_MS = 3_000;
const wrongKey = new AuthKey(Buffer.from('flood: not the key'));
const target = TARGETS[0] as (typeof TARGETS)[number];

/** The connection counters junkConnection keeps. */
export type JunkCounts = Omit<FloodReport['junk'], 'datagrams'>;

/** One junk connection from `localAddress`, counted in `counts`; resolves when it has ended. */
export function junkConnection(port: number, localAddress: string, counts: JunkCounts): Promise<void> {
  counts.attempts++;
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let connected = false;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(() => {
      if (!connected) counts.connectTimeouts++;
      done();
    }, HOLD_MAX_MS);
    socket.on('error', () => {
      if (!connected) counts.connectFailures++;
      done();
    });
    socket.on('close', done);
    socket.on('data', () => undefined);
    socket.on('connect', () => {
      connected = true;
      counts.connections++;
      const roll = randomInt(10);
      if (roll < 7) socket.end(randomBytes(randomInt(401)));
      else if (roll < 9) socket.write(randomBytes(randomInt(1, 176)));
    });
  });
}

function junkDatagram(): Buffer {
  const roll = randomInt(10);
  if (roll < 5) return randomBytes(176);
  if (roll < 8) {
    return signedRequest(
      { request: Request.OFF, domain: target.name, family: Family.INET, address: '127.0.0.1', port: randomInt(1, 65536) },
      wrongKey,
    );
  }
  return randomBytes(randomInt(1, 1500));
}

/**
 * Sends rate x seconds junk connections and datagrams, paced to the rates (a harness that falls behind
 * catches up, so the counts are exact); resolves when every junk connection has ended.
 */
async function flood(bed: DaemonBed, o: Required<FloodOptions>, counts: FloodReport['junk']): Promise<void> {
  const udp = createSocket('udp4');
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  const totalConnections = o.seconds * o.connectionsPerSecond;
  const totalDatagrams = o.seconds * o.datagramsPerSecond;
  let connections = 0;
  try {
    while (connections < totalConnections || counts.datagrams < totalDatagrams) {
      const elapsed = (performance.now() - started) / 1000;
      for (; connections < Math.min(totalConnections, Math.floor(elapsed * o.connectionsPerSecond)); connections++) {
        const p = junkConnection(bed.ports.tcp, FUZZ_SOURCES[connections % FUZZ_SOURCES.length] as string, counts);
        pending.add(p);
        void p.then(() => pending.delete(p));
      }
      for (; counts.datagrams < Math.min(totalDatagrams, Math.floor(elapsed * o.datagramsPerSecond)); counts.datagrams++) {
        udp.send(junkDatagram(), bed.ports.multicast, '225.0.0.12');
      }
      await sleep(5);
    }
    await Promise.all(pending);
  } finally {
    udp.close();
  }
}

/** One TCP and one multicast status request, timed; a wrong or missing answer is a failure. */
async function probeOnce(bed: DaemonBed, into: Latencies, failures: string[], when: string): Promise<void> {
  const want = statusCode(target.state);
  let t = performance.now();
  const tcp = await bed.tcp(Request.STATUS, target.name);
  if (tcp.kind === 'answered' && tcp.code === want) into.tcp.push(performance.now() - t);
  else failures.push(`${when}: TCP status got ${describeOutcome(tcp)}`);
  t = performance.now();
  const mc = await bed.multicastStatus(target.name);
  if (mc.kind === 'code' && mc.code === want) into.multicast.push(performance.now() - t);
  else failures.push(`${when}: multicast status got ${describeOutcome(mc)}`);
}

export async function runFlood(bed: DaemonBed, options: FloodOptions): Promise<FloodReport> {
  const o = { connectionsPerSecond: 1000, datagramsPerSecond: 1000, ...options };
  const report: FloodReport = {
    seconds: o.seconds,
    tookMs: 0,
    connectionsPerSecond: o.connectionsPerSecond,
    datagramsPerSecond: o.datagramsPerSecond,
    junk: { attempts: 0, connections: 0, connectFailures: 0, connectTimeouts: 0, datagrams: 0 },
    baseline: { tcp: [], multicast: [] },
    flooded: { tcp: [], multicast: [] },
    failures: [],
    limitWarnings: 0,
    listenOverflows: 0,
    datagramsDropped: 0,
    rssBeforeKb: bed.rssKb(),
    rssAfterKb: 0,
  };
  const scan = bed.log.update();
  const actionsBefore = scan.actions.length;
  const limitsBefore = countLimitWarnings(bed);
  const overflowsBefore = listenOverflows();
  const dropsBefore = udpSocketStats(bed.ports.multicast).drops;
  for (let i = 0; i < 50; i++) await probeOnce(bed, report.baseline, report.failures, 'before the flood');

  let flooding = true;
  const floodStarted = performance.now();
  const junk = flood(bed, o, report.junk).finally(() => {
    flooding = false;
    report.tookMs = performance.now() - floodStarted;
  });
  // Let the flood reach its rate before measuring.
  await sleep(300);
  while (flooding) {
    await probeOnce(bed, report.flooded, report.failures, 'during the flood');
    await sleep(20);
  }
  await junk;
  await probeOnce(bed, { tcp: [], multicast: [] }, report.failures, 'after the flood');

  if (!bed.daemon.running) report.failures.push('the daemon exited');
  const after = bed.log.update();
  const actions = new Findings();
  after.actions.slice(actionsBefore).forEach((a) => actions.add(a));
  if (actions.count) report.failures.push(`${actions.count} fencing actions: ${actions.examples.join('; ')}`);
  for (const change of await stateChanges((req, d) => bed.tcp(req, d))) report.failures.push(`domain state changed: ${change}`);
  report.limitWarnings = countLimitWarnings(bed) - limitsBefore;
  report.listenOverflows = listenOverflows() - overflowsBefore;
  report.datagramsDropped = udpSocketStats(bed.ports.multicast).drops - dropsBefore;
  report.rssAfterKb = bed.rssKb();
  return report;
}

/** The namespace's TcpExt ListenOverflows counter: only the daemon's port sees more connects than it accepts. */
function listenOverflows(): number {
  const [names, values] = readFileSync('/proc/net/netstat', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('TcpExt:'))
    .map((l) => l.split(/\s+/));
  return Number(values?.[names?.indexOf('ListenOverflows') ?? -1] ?? NaN);
}

function countLimitWarnings(bed: DaemonBed): number {
  return bed.daemon.output().match(/^warn: .*limit.*$/gim)?.length ?? 0;
}

/** `environment`: environmentLine() from when the run started. */
export function floodReport(r: FloodReport, command: string, environment: string): string[] {
  const row = (name: string, base: number[], flooded: number[]) =>
    `| ${name} | ${base.length} | ${ms(percentile(base, 50))} | ${ms(percentile(base, 99))} | ${flooded.length} | ${ms(percentile(flooded, 50))} | ${ms(percentile(flooded, 99))} | ${ms(percentile(flooded, 100))} |`;
  return [
    '# Flood: legitimate requests while junk arrives',
    '',
    environment,
    `\`${command}\``,
    '',
    'The built daemon (dist/fence_virtd, TCP on 127.0.0.1, multicast on lo) in a private network namespace gets',
    `${r.connectionsPerSecond} junk TCP connections and ${r.datagramsPerSecond} junk multicast datagrams per second for ${r.seconds} s, sent by`,
    'the same process that makes the legitimate requests (its own load is part of the numbers).',
    'Junk connections come from 8 source addresses: most write up to 400 random bytes and half-close, some',
    'write part of a request and hold, some send nothing. Junk datagrams: random bytes, or requests signed',
    'with a wrong key. The legitimate requests are status requests signed with the right key from another',
    'source address (TCP) or called back on another port (multicast), one at a time.',
    '',
    '| request | unflooded: n | median | p99 | flooded: n | median | p99 | max |',
    '|---|---|---|---|---|---|---|---|',
    row('TCP status (connect to answer)', r.baseline.tcp, r.flooded.tcp),
    row('multicast status (datagram to answer)', r.baseline.multicast, r.flooded.multicast),
    '',
    `Junk sent in ${(r.tookMs / 1000).toFixed(1)} s (until its last connection ended): ${r.junk.attempts} connections tried, ${r.junk.connections} connected,`,
    `${r.junk.connectFailures} refused or reset before connecting, ${r.junk.connectTimeouts} still not connected after ${HOLD_MAX_MS / 1000} s (given up); ${r.junk.datagrams} datagrams.`,
    `Daemon warnings about limits during the flood: ${r.limitWarnings} (rate-limited lines). Daemon RSS ${(r.rssBeforeKb / 1024).toFixed(1)} MB before, ${(r.rssAfterKb / 1024).toFixed(1)} MB after.`,
    `Connections the kernel could not queue for the daemon's accept (TcpExt ListenOverflows): ${r.listenOverflows}. Each such`,
    "connect is retried by the client's kernel after 1 s, then 2 s more, which is what TCP latencies of 1 s or 3 s are.",
    `Datagrams the kernel dropped because the daemon's receive queue was full: ${r.datagramsDropped} (the multicast status request is sent`,
    'again every second until the daemon calls back, as fence_xvm does).',
    '',
    r.failures.length
      ? `Failures (${r.failures.length}):\n${r.failures.map((f) => `- ${f}`).join('\n')}`
      : 'Every legitimate request was answered correctly, nothing was fenced, and every domain kept its state.',
    '',
  ];
}
