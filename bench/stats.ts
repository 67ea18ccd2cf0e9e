/** Numbers of the side-by-side benchmark: samples, their summaries, and the figures reported. */
import { percentile } from '../test/fuzz/report.js';
import type { Daemon } from './sides.js';

export const median = (xs: readonly number[]): number => percentile(xs, 50);
export { percentile };

/** The first and third quartiles, as `a–b` with `digits` decimals. */
export const quartiles = (xs: readonly number[], digits: number): string =>
  [25, 75].map((p) => percentile(xs, p).toFixed(digits)).join('–');

/** One reported figure: the same measure of both daemons in one run. Lower is better for every figure. */
export interface Figure {
  id: string;
  title: string;
  unit: 'ms' | 's' | 'MB';
  C: number | null;
  ours: number | null;
  /** What the goal asks of ours (shown beside the numbers). */
  goal: string;
  met: boolean;
  /** Why a value is missing, or how it was taken. */
  note?: string;
}

/** A point of a curve (latency against concurrent clients, or against guests). */
export interface Point {
  daemon: Daemon;
  x: number;
  y: number | null;
  /** e.g. answered 48 of 50. */
  label?: string;
}

/** Sample by sample, alternating which daemon goes first, so both see the same moments of a busy machine. */
export async function interleaved(n: number, each: (d: Daemon) => Promise<number>): Promise<Record<Daemon, number[]>> {
  const out: Record<Daemon, number[]> = { C: [], ours: [] };
  for (let i = 0; i < n; i++) {
    const order: Daemon[] = i % 2 === 0 ? ['C', 'ours'] : ['ours', 'C'];
    for (const d of order) out[d].push(await each(d));
  }
  return out;
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export const ratio = (f: Pick<Figure, 'C' | 'ours'>): number | null => (f.C && f.ours !== null ? f.ours / f.C : null);

export function fmt(x: number | null, unit: string): string {
  if (x === null) return '–';
  const digits = unit === 'ms' ? (x < 10 ? 2 : 1) : unit === 's' ? 3 : 1;
  return `${x.toFixed(digits)} ${unit}`;
}

/** A progress line on stderr (the report goes to stdout and bench/results/). */
export async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const r = await fn();
  process.stderr.write(`bench: ${what}: ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  return r;
}
