/**
 * fence_virt -S (docs/protocol.md#vsock-flow): the TCP exchange over AF_VSOCK to the host's CID, through
 * the native addon. Unlike the C agent's blocking connect, the connect is bounded by the deadline.
 */
import { connectVsock, vsockLocalCid } from '../../native/vsock.js';
import { loadAgentKey } from '../agent-key.js';
import { strerror } from '../errno-text.js';
import { exchangeOnStream } from '../network-exchange.js';
import { cannotMeetPolicy, NO_CALLBACK, newSeqno, offersV2, signedRequest } from '../request-builder.js';
import { stepMs, type RunContext } from '../run-context.js';

export async function runVsock(ctx: RunContext): Promise<number> {
  const { args, out, log, deadline } = ctx;
  const agentKey = loadAgentKey(args, out, log);
  if (cannotMeetPolicy(args, agentKey, log)) return 1;
  const request = signedRequest(args, agentKey, newSeqno(), NO_CALLBACK);
  let stream;
  try {
    stream = await connectVsock({ cid: args.cid, port: args.port, timeoutMs: deadline.remaining() });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.syscall === 'connect') {
      // The C agent prints the CID with %d.
      out.stdout(`Unable to connect to fence_virtd host ${args.cid | 0}:${args.port} ${strerror(e)}\n`);
    } else {
      out.stdout(`Unable to create vsock: ${strerror(e)}\n`);
    }
    log.error(`vsock connection to CID ${args.cid} port ${args.port} failed: ${e.message}`);
    return 1;
  }
  // The daemon names us by our CID.
  const offer = offersV2(args, agentKey) ? { requests: [request], identity: String(vsockLocalCid()) } : undefined;
  return exchangeOnStream(stream, request, offer, { ...agentKey, stepMs: stepMs(ctx), deadline, out, log, protocol: args.protocol });
}
