/**
 * One round of multicast requests: from each local address a datagram to the group, carrying that
 * address for the connect-back (docs/protocol.md#multicast-flow, agent step 4). IPv4 leaves through the
 * address's own interface with TTL 2; IPv6 with hop limit 2 and loopback on, the route choosing the
 * interface, as the C agent does. A failing address is reported and skipped, like the C agent.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { Family } from '../../protocol/index.js';
import type { Logger } from '../../util/log.js';
import { strerror } from '../errno-text.js';
import type { AgentOutput } from '../output.js';

const MULTICAST_HOPS = 2;

export interface MulticastTarget {
  family: typeof Family.INET | typeof Family.INET6;
  group: string;
  port: number;
}

async function openSender(target: MulticastTarget, address: string, out: AgentOutput): Promise<Socket | undefined> {
  const socket = createSocket(target.family === Family.INET ? 'udp4' : 'udp6');
  // Socket options need a bound socket; the C agent's first sendto() binds the same way.
  const bound = once(socket, 'listening');
  socket.bind(0);
  try {
    await bound;
  } catch (err) {
    socket.close();
    throw err;
  }
  try {
    socket.addMembership(target.group, target.family === Family.INET ? address : undefined);
  } catch (err) {
    out.stdout(`Failed to add multicast membership to transmit socket ${target.group}: ${strerror(err)}\n`);
    socket.close();
    return undefined;
  }
  if (target.family === Family.INET) {
    try {
      socket.setMulticastInterface(address);
    } catch (err) {
      out.stdout(`Failed to bind multicast transmit socket to ${target.group}: ${strerror(err)}\n`);
      socket.close();
      return undefined;
    }
  } else {
    socket.setMulticastLoopback(true);
  }
  try {
    socket.setMulticastTTL(MULTICAST_HOPS);
  } catch (err) {
    out.stdout(`warning: setting TTL failed ${strerror(err)}\n`);
  }
  return socket;
}

export async function sendRequests(
  target: MulticastTarget,
  addresses: readonly string[],
  packetFor: (address: string) => Buffer,
  out: AgentOutput,
  log: Logger,
): Promise<void> {
  for (const address of addresses) {
    let socket: Socket | undefined;
    try {
      socket = await openSender(target, address, out);
    } catch (err) {
      log.error(`cannot open a UDP socket for ${address}: ${(err as Error).message}`);
      continue;
    }
    if (!socket) continue;
    const sender = socket;
    try {
      await new Promise<void>((resolve, reject) =>
        sender.send(packetFor(address), target.port, target.group, (err) => (err ? reject(err) : resolve())),
      );
      log.debug(`sent the request to ${target.group}:${target.port} via ${address}`);
    } catch (err) {
      log.debug(`sending to ${target.group}:${target.port} via ${address} failed: ${(err as Error).message}`);
    } finally {
      sender.close();
    }
  }
}
