/**
 * Start to first answer and idle memory: each daemon started afresh on a 3-domain node with a TCP
 * listener, asked for a status every 2 ms from the moment it is spawned until it answers right; its
 * RSS one second later, and once settled: ten seconds later, after V8's memory reducer has handed back
 * start-up memory (it runs about 8 s into an idle spell). Rounds alternate which daemon starts first.
 * The memory takes `rounds` starts; the start time, whose start-to-start spread is about ±10 ms here,
 * takes those and `START_ONLY_ROUNDS` more, each stopped at its first answer. Node's own start (an
 * empty script, spawned the same way) is measured in the same run: the goal of 0.1 s was set on a
 * machine where that took 0.06 s, and it varies from machine to machine by more than the goal's margin.
 * So do the page faults a start takes (counted at the first answer) and what each costs (measured too).
 * Between the two RSS readings the daemon is idle: its CPU over those nine seconds is reported per second.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Request } from '../src/protocol/index.js';
import { BenchDir, cpuMs, domains, minorFaults, rssMb, startDaemon, tcpAsk, tcpListener, type Daemon } from './sides.js';
import { interleaved, median, quartiles, type Figure } from './stats.js';
import { lowerFigure } from './network.js';

const PORT = 25011;
const START_ONLY_ROUNDS = 15;
/** The idle spell after the RSS 1 s after the first answer, until the settled RSS. */
const IDLE_SECONDS = 9;

/** Runs `node -e script` with the environment the daemons get; answers seconds from spawn to exit and its output. */
async function nodeScript(script: string): Promise<{ seconds: number; output: string }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', script], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`node -e ${script} exited ${code}`);
  return { seconds: (performance.now() - t0) / 1000, output };
}

/** Node's own start: an empty script, to its exit. */
const EMPTY = '0';
/** The minor page faults an empty script has taken by its end. */
const EMPTY_FAULTS = 'process.stdout.write(String(process.resourceUsage().minorPageFault))';
/**
 * Microseconds a fault that maps a fresh page costs: 8 MB written twice in a new process, the first pass
 * faulting its pages in, divided by the faults it took (not by the page count: huge or 64 KB pages map
 * more per fault). On a virtual machine that can be tens of times a bare machine's price, and a start
 * pays it for every page it touches.
 */
const FIRST_TOUCH =
  'const b = Buffer.allocUnsafeSlow(8 << 20); const f = process.resourceUsage().minorPageFault; let t = performance.now(); ' +
  'b.fill(1); const first = performance.now() - t; const n = process.resourceUsage().minorPageFault - f; ' +
  't = performance.now(); b.fill(2); process.stdout.write(String(((first - (performance.now() - t)) * 1000) / n))';
/** Runs `script` three times; answers the median of the numbers it prints. */
async function medianOfThree(script: string): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < 3; i++) values.push(Number((await nodeScript(script)).output));
  return median(values);
}

export async function startupFigures(dir: BenchDir, rounds: number): Promise<Figure[]> {
  const uri = dir.node('startup', domains(3));
  const rss: Record<Daemon, number[]> = { C: [], ours: [] };
  const settled: Record<Daemon, number[]> = { C: [], ours: [] };
  const faults: Record<Daemon, number[]> = { C: [], ours: [] };
  const idleCpu: Record<Daemon, number[]> = { C: [], ours: [] };
  /** Seconds from spawn to the first right answer; with `memory`, RSS 1 s and 10 s later and the CPU between. */
  const startOnce = async (d: Daemon, memory: boolean): Promise<number> => {
    const t0 = performance.now();
    // Both as installed (the start figure needs no output line).
    const daemon = startDaemon(d, dir, `${d}-startup`, tcpListener(dir, PORT), uri, [], false);
    try {
      for (;;) {
        const o = await tcpAsk(PORT, Request.STATUS, 'vm-0001', 1_000);
        if (o.kind === 'code' && o.code === 0) break;
        if (!daemon.running || performance.now() - t0 > 30_000) throw new Error(`${d} did not answer after start:\n${daemon.output()}`);
        await sleep(2);
      }
      const first = performance.now() - t0;
      faults[d].push(minorFaults(daemon.pid));
      if (!memory) return first / 1000;
      await sleep(1_000);
      rss[d].push(rssMb(daemon.pid));
      const cpu = cpuMs(daemon.pid);
      await sleep(IDLE_SECONDS * 1_000);
      settled[d].push(rssMb(daemon.pid));
      idleCpu[d].push((cpuMs(daemon.pid) - cpu) / IDLE_SECONDS);
      return first / 1000;
    } finally {
      await daemon.stop();
    }
  };
  const withMemory = await interleaved(rounds, (d) => startOnce(d, true));
  const startOnly = await interleaved(START_ONLY_ROUNDS, (d) => startOnce(d, false));
  const starts = { C: [...withMemory.C, ...startOnly.C], ours: [...withMemory.ours, ...startOnly.ours] };
  const emptyNode: number[] = [];
  for (let i = 0; i < starts.ours.length; i++) emptyNode.push((await nodeScript(EMPTY)).seconds);
  const emptyFaults = await medianOfThree(EMPTY_FAULTS);
  const touchUs = await medianOfThree(FIRST_TOUCH);
  const figure = (
    id: string,
    title: string,
    unit: Figure['unit'],
    values: Record<Daemon, number[]>,
    goal: string,
    met: (ours: number) => boolean,
  ) => ({ ...lowerFigure(id, title, unit, median(values.C), median(values.ours)), goal, met: met(median(values.ours)) });
  const start = figure('start', 'start → first answer (spawn to a right TCP status, median)', 's', starts, '≤ 0.1 s', (s) => s <= 0.1);
  start.note =
    `median of ${starts.ours.length} starts each, quartiles C ${quartiles(starts.C, 3)} s, ours ${quartiles(starts.ours, 3)} s; ` +
    `Node itself, spawned the same way with an empty script, to its exit: median ${median(emptyNode).toFixed(3)} s, ` +
    `quartiles ${quartiles(emptyNode, 3)} s (the goal was set where that took 0.06 s); minor page faults to the first answer, ` +
    `median: C ${median(faults.C)}, ours ${median(faults.ours)}, the empty script ${emptyFaults}; a fault that maps a ` +
    `fresh page costs ${touchUs.toFixed(1)} µs here`;
  const title = 'RSS idle, 3 domains, TCP listener';
  const idle = figure(
    'rss-idle',
    `${title} (1 s after the first answer)`,
    'MB',
    rss,
    'reported (the 44 MB goal is for idle, below)',
    () => true,
  );
  const idleSettled = figure(
    'rss-idle-settled',
    `${title} (10 s after the first answer, settled)`,
    'MB',
    settled,
    '≤ 44 MB',
    (mb) => mb <= 44,
  );
  const idling = figure(
    'cpu-idle',
    `CPU of an idle daemon, per second (from 1 s to 10 s after the first answer; 3 domains, TCP listener)`,
    'ms',
    idleCpu,
    'reported',
    () => true,
  );
  idling.note =
    'all threads; for ours, mostly the two collections V8 makes about 8 s after a start to give memory back (they ' +
    'bring the RSS to the settled figure), and a ping to libvirtd every 5 s (keepalive); its event-loop sampler stops ' +
    'about as the window opens';
  return [start, idle, idleSettled, idling];
}
