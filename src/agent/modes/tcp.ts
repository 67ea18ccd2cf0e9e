/**
 * fence_virt -T (docs/protocol.md#tcp-flow): the signed request and the exchange over one TCP
 * connection.
 */
import { isIP } from 'node:net';
import { loadAgentKey } from '../agent-key.js';
import { errnoError, strerror } from '../errno-text.js';
import { exchangeOnStream } from '../network-exchange.js';
import { cannotMeetPolicy, NO_CALLBACK, newSeqno, offersV2, signedRequest } from '../request-builder.js';
import { stepMs, type RunContext } from '../run-context.js';
import { CONNECT_MS, connectTcp } from '../transports/tcp-connect.js';

/**
 * The error text the C agent prints on stdout after a failed connect (kept on purpose:
 * docs/compatibility.md, row 'agent TCP connect failure text'): errors the kernel
 * reports later (refused, unreachable host) come out as "Bad file descriptor" because it closes the
 * socket twice; its own timeout and immediate errors keep their text; a host name, which it never
 * resolves, leaves a stale "No such file or directory".
 */
function cConnectErrorText(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ECONNRESET') return strerror({ code: 'EBADF' });
  return strerror(err);
}

export async function runTcp(ctx: RunContext): Promise<number> {
  const { args, out, log, deadline } = ctx;
  const agentKey = loadAgentKey(args, out, log);
  if (cannotMeetPolicy(args, agentKey, log)) return 1;
  const request = signedRequest(args, agentKey, newSeqno(), NO_CALLBACK);
  const host = args.ipaddr as string;
  let socket;
  try {
    if (!isIP(host)) throw errnoError('ENOENT', `'${host}' is not an IP address (host names are not resolved)`);
    socket = await connectTcp(host, args.port, deadline.cap(CONNECT_MS));
  } catch (err) {
    out.stdout(`Unable to connect to fence_virtd host ${host}:${args.port} ${cConnectErrorText(err as NodeJS.ErrnoException)}\n`);
    log.error(`cannot connect to fence_virtd at ${host}:${args.port}: ${(err as Error).message}`);
    return 1;
  }
  // The daemon names us by the address it sees: our end of the connection.
  const offer = offersV2(args, agentKey) ? { requests: [request], identity: socket.localAddress ?? '' } : undefined;
  return exchangeOnStream(socket, request, offer, { ...agentKey, stepMs: stepMs(ctx), deadline, out, log, protocol: args.protocol });
}
