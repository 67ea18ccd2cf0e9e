/** fence_virt: the guest agent speaking serial, vmchannel, TCP or vsock to fence_virtd. */
import { agentProcessMain } from '../agent/process-main.js';
import { FENCE_VIRT } from '../agent/program.js';

await agentProcessMain(FENCE_VIRT);
