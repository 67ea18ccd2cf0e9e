/**
 * The vsock listener for the fuzzer, in this process: a vsock socket cannot be connected to here, so
 * the real VsockListener, StreamRequestListener, request core, Dispatcher and LibvirtBackend run above
 * the loopback stand-in acceptor (one TCP port per fake guest CID), on the fuzz fixture through
 * libvirtd. CID 5 belongs to the probes; fuzz traffic comes from several other CIDs, as connections
 * are bounded per CID.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LibvirtBackend } from '../../src/backends/libvirt/backend.js';
import { Dispatcher } from '../../src/daemon/dispatcher.js';
import { StaticMap } from '../../src/daemon/static-map.js';
import { LibvirtConnectionPool } from '../../src/libvirt/index.js';
import { VsockListener } from '../../src/listeners/vsock/listener.js';
import { CapturedLog } from '../support/captured-log.js';
import { signedRequest } from '../support/raw-client.js';
import { loopbackVsockListener } from '../vsock/loopback-acceptor.js';
import { nextProbeSeqno } from './daemon-bed.js';
import { HOST_GROUP_TARGETS, KEY, VSOCK_GUESTS, writeNode } from './fixture.js';
import { LogFollower } from './log-scan.js';
import { sendPieces, type Endpoint, type StreamOutcome } from './stream-client.js';

/** The probes come from a fixture guest's CID; fuzz traffic from the other guest's and from CIDs nobody holds. */
const [PROBE_CID, GUEST_CID] = VSOCK_GUESTS.map((g) => g.cid) as [number, number];
const FUZZ_CIDS = [GUEST_CID, 42, 43, 44, 45, 46, 47, 48];

export class VsockBed {
  /** Level 0, as the daemon runs by default: warnings and fencing audit lines. */
  private readonly captured = new CapturedLog(0);
  readonly log = new LogFollower(() => this.captured.lines);
  readonly probe: Endpoint;
  readonly fuzzEndpoints: Endpoint[];
  private listener: VsockListener | undefined;
  private readonly pool = new LibvirtConnectionPool(this.captured.logger);

  private constructor(
    private readonly dir: string,
    basePort: number,
  ) {
    this.probe = { port: basePort };
    this.fuzzEndpoints = FUZZ_CIDS.map((_, i) => ({ port: basePort + 1 + i }));
  }

  static async start(basePort: number): Promise<VsockBed> {
    const dir = await mkdtemp(join(tmpdir(), 'fvd-fuzz-vsock-'));
    const bed = new VsockBed(dir, basePort);
    try {
      await bed.setUp(`test+unix://${await writeNode(dir, join(dir, 'sock'))}`);
    } catch (err) {
      await bed.stop();
      throw err;
    }
    return bed;
  }

  private async setUp(uri: string): Promise<void> {
    const log = this.captured.logger;
    const backend = await LibvirtBackend.open([uri], log, { connect: (u) => this.pool.get(u) });
    const permissions = new StaticMap([{ name: 'host', ips: [PROBE_CID, ...FUZZ_CIDS].map(String), uuids: [...HOST_GROUP_TARGETS] }]);
    const dispatcher = new Dispatcher(backend, () => permissions, log);
    const cids = new Map([PROBE_CID, ...FUZZ_CIDS].map((cid, i) => [cid, this.probe.port + i]));
    this.listener = loopbackVsockListener({
      guests: cids,
      key: KEY,
      libvirt: () => [this.pool.get(uri)],
      dispatcher,
      pool: this.pool,
      log,
    });
    await this.listener.start();
  }

  /** A legitimate request from the probe CID. */
  request(request: number, domain: string): Promise<StreamOutcome> {
    return sendPieces(this.probe, [signedRequest({ request, domain, seqno: nextProbeSeqno() }, KEY)], [0], 5_000);
  }

  logText(): string {
    return this.captured.lines.join('');
  }

  /** Resident memory of this process, which the listener shares with the harness (kB). */
  rssKb(): number {
    return Math.round(process.memoryUsage.rss() / 1024);
  }

  async stop(): Promise<void> {
    await this.listener?.stop();
    await this.pool.closeAll();
    await rm(this.dir, { recursive: true, force: true });
  }
}
