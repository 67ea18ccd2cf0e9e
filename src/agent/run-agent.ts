/**
 * One agent run, in the C agents' order (docs/protocol.md#agent-output-and-exit-codes): parse,
 * help/version, settle the family, debug dump, domain check, mode choice, errors with usage,
 * validate-all, metadata, delay, the operation, its report. Returns the exit code.
 */
import { Request } from '../protocol/index.js';
import { createLogger } from '../util/log.js';
import { sleep } from '../util/sleep.js';
import { finalizeArgs, isDelayed, Mode, needsDomain, type AgentArgs } from './args.js';
import { Deadline } from './deadline.js';
import { argsDump } from './debug-dump.js';
import { metadataXml } from './metadata.js';
import { runMulticast } from './modes/multicast.js';
import { runSerial } from './modes/serial.js';
import { runTcp } from './modes/tcp.js';
import { runVsock } from './modes/vsock.js';
import type { AgentOutput } from './output.js';
import { parseCommandLine, parseStdin } from './parse-options.js';
import { FENCE_RELEASE, XVM_VERSION, type AgentProgram } from './program.js';
import { reportResult } from './report-result.js';
import type { RunContext } from './run-context.js';
import { helpText, usageText } from './usage.js';

export interface AgentInvocation {
  program: AgentProgram;
  /** The path the agent was started as, shown in usage lines. */
  argv0: string;
  argv: readonly string[];
  /** Read only when argv is empty: the options then come from stdin. */
  readStdin: () => Promise<Buffer>;
  out: AgentOutput;
}

const runners = {
  [Mode.MULTICAST]: runMulticast,
  [Mode.SERIAL]: runSerial,
  [Mode.TCP]: runTcp,
  [Mode.VSOCK]: runVsock,
};

function chooseMode(args: AgentArgs): void {
  if (args.ipaddr !== undefined) args.mode = Mode.TCP;
  if (args.cid >= 2) args.mode = Mode.VSOCK;
}

export async function runAgent(inv: AgentInvocation): Promise<number> {
  const { program, argv0, out } = inv;
  const fromStdin = inv.argv.length === 0;
  const args = fromStdin ? parseStdin(program, await inv.readStdin(), out) : parseCommandLine(program, argv0, inv.argv, out);
  if (args.help) {
    out.stdout(helpText(program, argv0));
    return 0;
  }
  if (args.version) {
    out.stdout(`${program.name} ${XVM_VERSION}\nfence release ${FENCE_RELEASE}\n`);
    return 0;
  }
  const familyError = finalizeArgs(args);
  if (familyError) {
    out.stdout(`${familyError}\n`);
    args.error = true;
  }
  if (args.debug > 0) out.stdout(argsDump(args));
  if (args.domain === undefined && needsDomain(args.op)) {
    out.stdout('No domain specified!\n');
    args.error = true;
  }
  chooseMode(args);
  if (args.error) {
    if (args.op !== Request.VALIDATEALL) out.stdout(usageText(program, argv0, fromStdin));
    return 1;
  }
  if (args.op === Request.VALIDATEALL) return 0;
  if (args.op === Request.METADATA) {
    out.stdout(metadataXml(program));
    return 0;
  }
  if (args.delay > 0 && isDelayed(args.op)) await sleep(args.delay * 1000);
  const ctx: RunContext = {
    args,
    out,
    log: createLogger(() => args.debug, { write: (line) => out.stderr(line) }, `${program.name}: `),
    deadline: new Deadline(args.timeout * 1000),
  };
  return reportResult(await runners[args.mode](ctx), args, out, ctx.log);
}
