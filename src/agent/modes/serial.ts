/**
 * fence_virt without -T/-S (docs/protocol.md#serial-and-vmchannel-flow): the serial protocol over the -D
 * device, or without one over a TCP connection to the vmchannel address (a QEMU guestfwd), which is the
 * real default.
 */
import { isIP } from 'node:net';
import { errnoError, strerror } from '../errno-text.js';
import { parseSerialParams } from '../serial-params.js';
import { serialExchange, type SerialChannel } from '../serial-exchange.js';
import type { RunContext } from '../run-context.js';
import { CONNECT_MS, connectTcp } from '../transports/tcp-connect.js';
import { openSerialDevice } from '../transports/serial-device.js';

async function openDevice(ctx: RunContext, path: string): Promise<SerialChannel | undefined> {
  const { args, out, log } = ctx;
  const params = parseSerialParams(args.serialParams);
  if (!params.ok) {
    if (params.badChar !== undefined) out.stdout(`Fail: ${params.badChar}\n`);
    out.stderr(`open_port: ${strerror({ code: 'EINVAL' })}\n`);
    log.error(`serial parameters '${args.serialParams}': ${params.reason}`);
    return undefined;
  }
  try {
    return await openSerialDevice(path, params.settings, log);
  } catch (err) {
    out.stderr(`open_port: ${strerror(err)}\n`);
    log.error(`cannot open the serial device ${path}: ${(err as Error).message}`);
    return undefined;
  }
}

async function connectChannel(ctx: RunContext): Promise<SerialChannel | undefined> {
  const { args, out, log, deadline } = ctx;
  const address = args.channelAddress;
  try {
    if (!isIP(address)) throw errnoError('EINVAL', `'${address}' is not an IP address`);
    return { stream: await connectTcp(address, args.port, deadline.cap(CONNECT_MS)), flushed: false };
  } catch (err) {
    out.stdout(`Failed to connect to ${address}:${args.port}\n`);
    out.stderr(`vmchannel connect: ${strerror(err)}\n`);
    log.error(`no vmchannel at ${address}:${args.port} (use -D for a serial device): ${(err as Error).message}`);
    return undefined;
  }
}

export async function runSerial(ctx: RunContext): Promise<number> {
  const device = ctx.args.serialDevice;
  const channel = device !== undefined ? await openDevice(ctx, device) : await connectChannel(ctx);
  return channel ? serialExchange(channel, ctx) : -1;
}
