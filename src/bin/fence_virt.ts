/** fence_virt: the guest agent speaking serial, vmchannel, TCP or vsock to fence_virtd. */
import { agentProcessMain } from '../agent/process-main.js';
import { FENCE_VIRT } from '../agent/program.js';

// No top-level await: the bundle is CommonJS (tsup.config.ts); agentProcessMain exits itself.
void agentProcessMain(FENCE_VIRT);
