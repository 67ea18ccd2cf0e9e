/**
 * Just enough of libvirtd, on a unix socket, for the build's training run of the daemon
 * (packaging/make-code-cache.ts), where no libvirtd runs: the handshake a start makes (no
 * authentication, open, keepalive offered) and a status (a lookup by name and the domain's info, always
 * one running domain). A call it does not know closes the connection, so a run that strays from this
 * path fails instead of training something else.
 */
import { createServer, type Server } from 'node:net';
import { encodePacket, MessageStatus, MessageType, PacketDecoder, type Packet } from '../src/libvirt/packet.js';
import { FEATURE_PROGRAM_KEEPALIVE, Proc, REMOTE_PROGRAM } from '../src/libvirt/protocol.js';
import { XdrReader, XdrWriter } from '../src/libvirt/xdr.js';

const DOMAIN_UUID = Buffer.from('5eed0000000040008000000000000001', 'hex');
const RUNNING = 1;

/** The reply's payload for a call, or undefined for a call this stand-in does not answer. */
function answer(call: Packet): Buffer | undefined {
  const args = new XdrReader(call.payload);
  switch (call.header.procedure) {
    case Proc.AuthList:
      return new XdrWriter().uint(1).int(0).finish();
    case Proc.ConnectOpen:
    case Proc.ConnectClose:
      return Buffer.alloc(0);
    case Proc.ConnectSupportsFeature:
      return new XdrWriter().int(args.int() === FEATURE_PROGRAM_KEEPALIVE ? 1 : 0).finish();
    case Proc.DomainLookupByName:
      return new XdrWriter().string(args.string(256)).fixedOpaque(DOMAIN_UUID).int(1).finish();
    case Proc.DomainGetInfo:
      return new XdrWriter().uint(RUNNING).uhyper(1024n).uhyper(1024n).uint(1).uhyper(0n).finish();
    default:
      return undefined;
  }
}

/** Serves at `path` until closed. */
export function startLibvirtStandIn(path: string): Promise<Server> {
  const server = createServer((socket) => {
    const decoder = new PacketDecoder();
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      for (const call of decoder.push(chunk)) {
        // Keepalive pings (another program) need no answer within a training run.
        if (call.header.program !== REMOTE_PROGRAM) continue;
        const payload = answer(call);
        if (payload === undefined) return void socket.destroy();
        socket.write(encodePacket({ ...call.header, type: MessageType.Reply, status: MessageStatus.Ok }, payload));
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}
