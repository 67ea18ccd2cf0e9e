/** fence_xvm: the guest agent speaking multicast to fence_virtd (Pacemaker stonith agent). */
import { agentProcessMain } from '../agent/process-main.js';
import { FENCE_XVM } from '../agent/program.js';

// No top-level await: the bundle is CommonJS (tsup.config.ts); agentProcessMain exits itself.
void agentProcessMain(FENCE_XVM);
