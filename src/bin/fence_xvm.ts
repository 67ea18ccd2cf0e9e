/** fence_xvm: the guest agent speaking multicast to fence_virtd (Pacemaker stonith agent). */
import { agentProcessMain } from '../agent/process-main.js';
import { FENCE_XVM } from '../agent/program.js';

await agentProcessMain(FENCE_XVM);
