/** Running the real C tools and our executables from tests, with bounded waits. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { C_FENCE_VIRTD } from './c-daemon.js';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Killed at its time bound (code null then; a tool killed by another signal has code null too). */
  timedOut: boolean;
}

/** What a tool is given: its standard input, and how long it may run before it is killed (default 60 s). */
export interface ToolOptions {
  input?: string;
  timeoutMs?: number;
}

/** A tool started by `startTool`: its PID at once, its result once it has ended. */
export interface RunningTool {
  pid: number;
  result: Promise<ToolResult>;
}

/** Starts a tool (killed after `timeoutMs`, default 60 s) without waiting for it: a test may watch it run. */
export function startTool(command: string, args: readonly string[], options: ToolOptions = {}): RunningTool {
  const child = spawn(command, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 60_000);
  const result = new Promise<ToolResult>((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
  // The tool may exit without reading its input; that is its business, not an error here.
  child.stdin?.on('error', () => undefined).end(options.input);
  return { pid: child.pid as number, result };
}

/** Runs a tool to its end (killed after `timeoutMs`, default 60 s). */
export function runTool(command: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
  return startTool(command, args, options).result;
}

/**
 * Polls a condition until it holds, failing with `what` after `timeoutMs`: the one way tests wait for
 * something outside their control (a daemon answering, a file appearing, a connection counted).
 */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * The fields of `/proc/PID/stat` after the command name: index 0 is field 3 (the state). The name is in
 * parentheses and may hold any character, spaces and ')' included, so it ends at the last ')'.
 */
export function procStatFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** A numeric field of `/proc/PID/status` (VmRSS in kB, voluntary_ctxt_switches, ...); undefined when absent (a zombie has no VmRSS). */
export function procStatusNumber(pid: number, field: string): number | undefined {
  const value = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return value === undefined ? undefined : Number(value);
}

/** Waits for a path (socket, pty link) to appear. */
export function waitForPath(path: string, what: string, timeoutMs = 10_000): Promise<void> {
  return waitUntil(() => existsSync(path), `${what}: ${path} appearing`, timeoutMs);
}

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Our fence_virtd run from source, as a separate process like the C daemon. */
export const OUR_DAEMON = { command: process.execPath, args: ['--import', 'tsx', `${REPO}src/bin/fence_virtd.ts`] };
export const C_DAEMON = { command: C_FENCE_VIRTD, args: [] as string[] };

/** The built bundle, as it is installed; benchmarks measure this (scripts/run-bench.sh builds it first). */
export const OUR_DAEMON_BUNDLE = { command: process.execPath, args: [`${REPO}dist/fence_virtd`] };

/**
 * Kills a child by its PID (default SIGKILL: a crash, not a clean exit) and waits until it is gone. It
 * is resumed first, because a process stopped with SIGSTOP would not act on SIGTERM.
 */
export async function killChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGCONT');
  child.kill(signal);
  await exited;
}
