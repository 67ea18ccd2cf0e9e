/**
 * The host list of large nodes over TCP, in this process: 1,000 and 2,000 domains, both daemons running
 * at once on their own copy of the node; every list must hold every domain. RSS after serving the
 * 1,000-domain lists.
 */
import { Request } from '../src/protocol/index.js';
import type { DaemonProcess } from '../test/support/daemon-process.js';
import { BenchDir, DAEMONS, domains, readyOrFail, settledRssMb, startDaemon, tcpAsk, tcpListener, type Daemon } from './sides.js';
import { interleaved, median, timed, type Figure } from './stats.js';
import { lowerFigure } from './network.js';

const PORTS: Record<Daemon, number> = { C: 25021, ours: 25022 };

export async function hostListFigures(dir: BenchDir, sizes: readonly { domains: number; rounds: number }[]): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const { domains: n, rounds } of sizes) {
    const started: Partial<Record<Daemon, DaemonProcess>> = {};
    try {
      for (const d of DAEMONS) {
        const daemon = startDaemon(d, dir, `${d}-hosts-${n}`, tcpListener(dir, PORTS[d]), dir.node(`hosts-${n}-${d}`, domains(n)));
        started[d] = daemon;
        await readyOrFail(daemon, `${d} host list`, async () => (await tcpAsk(PORTS[d], Request.HOSTLIST, '', 10_000)).kind === 'hosts');
      }
      const failures: Record<Daemon, string[]> = { C: [], ours: [] };
      const lists = await interleaved(rounds, (d) =>
        timed(async () => {
          const o = await tcpAsk(PORTS[d], Request.HOSTLIST, '', 30_000);
          if (o.kind === 'hosts' && o.names.length === n) return;
          const what = `answered ${o.kind === 'hosts' ? `${o.names.length} domains` : o.kind}`;
          // Ours must be right every time; the C daemon's failures are part of the result.
          if (d === 'ours') throw new Error(`ours: host list of ${n} domains ${what}`);
          failures[d].push(what);
        }),
      );
      const f = lowerFigure(
        `host-list-${n}`,
        `host list of ${n} domains over TCP, in one client process (median)`,
        'ms',
        failures.C.length ? null : median(lists.C),
        median(lists.ours),
      );
      if (failures.C.length) f.note = `C failed ${failures.C.length} of ${rounds} lists (${failures.C[0]})`;
      figures.push(f);
      if (n === 1000) {
        const rss = lowerFigure(
          'rss-1000',
          'RSS serving 1,000 domains (1 s after the host lists)',
          'MB',
          ...(await Promise.all([settledRssMb(started.C!.pid), settledRssMb(started.ours!.pid)])),
        );
        rss.goal = '≤ 60 MB';
        rss.met = (rss.ours ?? Infinity) <= 60;
        figures.push(rss);
      }
    } finally {
      await Promise.all(Object.values(started).map((p) => p.stop()));
    }
  }
  return figures;
}
