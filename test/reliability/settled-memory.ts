/**
 * The daemon's memory after a forced garbage collection, through gc-probe.mjs: node options that load
 * the probe, and a reading that signals it and waits for its report in the daemon's output.
 */
import type { DaemonProcess } from '../support/daemon-process.js';

/** Node options (before the script) that make the daemon answer SIGUSR2 with a reading. */
export const GC_PROBE_ARGS = ['--expose-gc', `--import=${new URL('./gc-probe.mjs', import.meta.url).href}`];

export interface SettledMemory {
  rss: number;
  /** Heap in use plus memory held outside the heap by its objects (buffers), bytes. */
  heap: number;
}

const REPORT = /^gc-probe (\{.*\})$/gm;

/** Signals the probe in `daemon` (started with GC_PROBE_ARGS) and returns its next reading. */
export async function settledMemory(daemon: DaemonProcess): Promise<SettledMemory> {
  const before = daemon.output().match(REPORT)?.length ?? 0;
  process.kill(daemon.pid, 'SIGUSR2');
  let reports: string[] = [];
  await daemon.waitUntil(() => (reports = daemon.output().match(REPORT) ?? []).length > before, 'the gc-probe reading', 10_000);
  const line = reports.at(-1) as string;
  const got = JSON.parse(line.slice('gc-probe '.length)) as { collected: boolean; rss: number; heapUsed: number; external: number };
  if (!got.collected) throw new Error(`the daemon cannot collect garbage on request (started without ${GC_PROBE_ARGS[0]})`);
  return { rss: got.rss, heap: got.heapUsed + got.external };
}

export const megabytes = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
