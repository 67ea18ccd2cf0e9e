/**
 * The two agents. The C tools are one binary that picks its behaviour from basename(argv[0]); ours are
 * two entry points sharing this code, each with the C program's getopt string and default mode.
 */
import { Mode, type AgentMode } from './args.js';

export interface AgentProgram {
  name: 'fence_xvm' | 'fence_virt';
  optstring: string;
  mode: AgentMode;
}

export const FENCE_XVM: AgentProgram = { name: 'fence_xvm', optstring: 'di:a:p:r:C:c:k:M:n:H:uo:t:?hVw:', mode: Mode.MULTICAST };

/** Serial mode by default: a tty given with -D, otherwise the vmchannel address. */
export const FENCE_VIRT: AgentProgram = { name: 'fence_virt', optstring: 'dD:P:A:p:M:n:H:o:t:?hVT:S::C:c:k:w:', mode: Mode.SERIAL };

/** The version lines of `-V`: the protocol generation and the fence-agents release we match. */
export const XVM_VERSION = '1.9.0';
export const FENCE_RELEASE = '4.12.1';
