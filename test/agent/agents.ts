/**
 * Running the C agents (the reference) and ours side by side, and comparing what Pacemaker sees:
 * the exit code and stdout. Ours run from source through tsx; test/agent/build.test.ts checks the
 * bundled executables separately.
 */
import assert from 'node:assert/strict';
import { REPO, runTool, type ToolResult } from '../support/processes.js';

export type AgentName = 'fence_xvm' | 'fence_virt';

export const C_AGENT: Record<AgentName, string> = { fence_xvm: '/usr/sbin/fence_xvm', fence_virt: '/usr/sbin/fence_virt' };
const OUR_SOURCE: Record<AgentName, string> = { fence_xvm: `${REPO}src/bin/fence_xvm.ts`, fence_virt: `${REPO}src/bin/fence_virt.ts` };

export interface RunOptions {
  /** stdin text; with no arguments the agents read their options from it. */
  input?: string;
  timeoutMs?: number;
}

export function runC(name: AgentName, args: readonly string[], options: RunOptions = {}): Promise<ToolResult> {
  return runTool(C_AGENT[name], args, { timeoutMs: 60_000, ...options });
}

export function runOurs(name: AgentName, args: readonly string[], options: RunOptions = {}): Promise<ToolResult> {
  return runTool(process.execPath, ['--import', 'tsx', OUR_SOURCE[name], ...args], { timeoutMs: 60_000, ...options });
}

/**
 * The help row of the serial device, which differs on purpose: the C text claims /dev/ttyS1 is the
 * default, while both agents use vmchannel without -D (docs/compatibility.md; options.test.ts checks ours).
 */
export const SERIAL_DEVICE_HELP_ROW = /^ {2}(?:-D <device>|serial_device) +Serial device \(default[^\n]*\n(?: {24}[^\n]*\n)*/gm;

/**
 * stdout with each program's own path in usage lines replaced, and (for the C agent) its debugging
 * noise dropped: the hex dumps and error fragments of a failed challenge, which carry random bytes or
 * a stale errno, and the pointer in the -d dump header. Neither is something Pacemaker relies on.
 */
export function comparable(name: AgentName, stdout: string): string {
  return stdout
    .replace(SERIAL_DEVICE_HELP_ROW, 'SERIAL DEVICE ROW\n')
    .replaceAll(C_AGENT[name], 'PROG')
    .replaceAll(OUR_SOURCE[name], 'PROG')
    .replace(/^-- args @ 0x[0-9a-f]+ --$/gm, '-- args --')
    .replace(/^Hash mismatch:\n(?:[CHR] = [0-9a-f]*\n)*/gm, '')
    .replace(/^Error reading challenge response: [^\n]*?(?=Invalid response to challenge)/gm, '')
    .replace(/^Error: select: [^\n]*\n/gm, '');
}

export interface Compared {
  c: ToolResult;
  ours: ToolResult;
}

/** Exit code and (comparable) stdout of both agents must be equal. */
export function assertSameOutcome(name: AgentName, { c, ours }: Compared, label: string): void {
  assert.deepEqual(
    { code: ours.code, stdout: comparable(name, ours.stdout) },
    { code: c.code, stdout: comparable(name, c.stdout) },
    `${label}\nC stderr: ${c.stderr}\nour stderr: ${ours.stderr}`,
  );
}

/** Runs the same call with both agents (C first) and asserts the same outcome. */
export async function assertAgentsAgree(name: AgentName, args: readonly string[], options: RunOptions = {}): Promise<Compared> {
  const c = await runC(name, args, options);
  const ours = await runOurs(name, args, options);
  const label = `${name} ${args.join(' ')}${options.input === undefined ? '' : ` <<< ${JSON.stringify(options.input)}`}`;
  assertSameOutcome(name, { c, ours }, label);
  return { c, ours };
}
