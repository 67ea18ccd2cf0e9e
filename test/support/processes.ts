/** Running the real C tools and our executables from tests, with bounded waits. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { C_FENCE_VIRTD } from './c-daemon.js';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runTool(command: string, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // The tool may exit without reading its input; that is its business, not an error here.
    child.stdin?.on('error', () => undefined).end(options.input);
  });
}

/** Retries a probe until it reports success; the C daemon prints nothing when it is ready. */
export async function waitUntil(probe: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Our fence_virtd run from source, as a separate process like the C daemon. */
export const OUR_DAEMON = { command: process.execPath, args: ['--import', 'tsx', `${REPO}src/bin/fence_virtd.ts`] };
export const C_DAEMON = { command: C_FENCE_VIRTD, args: [] as string[] };

/** The built bundle, as it is installed; benchmarks measure this (scripts/run-bench.sh builds it first). */
export const OUR_DAEMON_BUNDLE = { command: process.execPath, args: [`${REPO}dist/fence_virtd`] };
