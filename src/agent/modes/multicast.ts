/**
 * fence_xvm (docs/protocol.md#multicast-flow): listen for the connect-back, multicast the signed request
 * from every local address, repeat every `retrans` tenths until a daemon connects or the attempts are
 * used up, then authenticate and read the answer on that connection.
 */
import { Family, hashNames } from '../../protocol/index.js';
import { sleep } from '../../util/sleep.js';
import { loadAgentKey } from '../agent-key.js';
import { strerror } from '../errno-text.js';
import { CallbackListener } from '../multicast/callback-listener.js';
import { localAddresses } from '../multicast/local-addresses.js';
import { sendRequests, type MulticastTarget } from '../multicast/send-requests.js';
import { exchangeOnStream } from '../network-exchange.js';
import { cannotMeetPolicy, newSeqno, offersV2, signedRequest } from '../request-builder.js';
import { stepMs, type RunContext } from '../run-context.js';

export async function runMulticast(ctx: RunContext): Promise<number> {
  const { args, out, log, deadline } = ctx;
  const agentKey = loadAgentKey(args, out, log);
  if (cannotMeetPolicy(args, agentKey, log)) return 1;
  const target: MulticastTarget = {
    family: args.family === Family.INET6 ? Family.INET6 : Family.INET,
    group: args.multicastAddress as string,
    port: args.port,
  };
  const familyName = target.family === Family.INET ? 'IPv4' : 'IPv6';
  const addresses = localAddresses(target.family);
  if (!addresses.length) log.error(`this host has no ${familyName} address to send the request from`);
  const periodMs = args.retrans * 100;
  // The C agent computes 0 attempts when timeout*10 < retrans and then never stops
  // (docs/compatibility.md, row 'attempts when `timeout × 10 < retrans`').
  let attempts = Math.max(1, Math.floor((args.timeout * 10) / args.retrans));

  let listener: CallbackListener;
  for (;;) {
    try {
      listener = await CallbackListener.open(args.port, target.family);
      break;
    } catch (err) {
      out.stdout(`Failed to listen: ${strerror(err)}\n`);
      log.error(
        `cannot listen on TCP port ${args.port} for the daemon's connect-back (another fence_xvm running?): ${(err as Error).message}`,
      );
      await sleep(deadline.cap(periodMs));
      if (--attempts > 0 && !deadline.expired) continue;
      return -1;
    }
  }

  const seqno = newSeqno();
  // Every copy sent, by the address inside it: the daemon names us by that address, and its version 2
  // proof says which copy it answers.
  const sent = new Map<string, Buffer[]>();
  const packetFor = (address: string): Buffer => {
    const packet = signedRequest(args, agentKey, seqno, { family: target.family, address, port: args.port });
    sent.set(address, [...(sent.get(address) ?? []), packet]);
    return packet;
  };
  try {
    for (;;) {
      await sendRequests(target, addresses, packetFor, out, log);
      let connection;
      try {
        connection = await listener.next(deadline.cap(periodMs));
      } catch (err) {
        out.stdout(`Operation failed: ${strerror(err)}\n`);
        log.error(`waiting for the connect-back failed: ${(err as Error).message}`);
        return -1;
      }
      if (connection) {
        listener.close();
        const calledBack = connection.localAddress ?? '';
        const offer = offersV2(args, agentKey) ? { requests: sent.get(calledBack) ?? [], identity: calledBack } : undefined;
        return await exchangeOnStream(connection, undefined, offer, {
          ...agentKey,
          stepMs: stepMs(ctx),
          deadline,
          out,
          log,
          protocol: args.protocol,
        });
      }
      if (--attempts <= 0 || deadline.expired) {
        out.stdout('Timed out waiting for response\n');
        log.error(
          `no fence_virtd connected back to TCP port ${args.port} within ${args.timeout} s; check that one listens on ` +
            `${target.group}:${args.port} (${familyName}), accepts hash ${hashNames[agentKey.hash]} with this key, and can reach this host`,
        );
        return 1;
      }
    }
  } finally {
    listener.close();
  }
}
