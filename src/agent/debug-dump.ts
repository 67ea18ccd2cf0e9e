/** The `-d` dump of every setting, in the C agents' field names, on stdout as they print it. */
import type { AgentArgs } from './args.js';

export function argsDump(args: AgentArgs): string {
  const str = (v: string | undefined): string => v ?? '(null)';
  const fields: Array<[string, string | number]> = [
    ['args->domain', str(args.domain)],
    ['args->op', args.op],
    ['args->mode', args.mode],
    ['args->debug', args.debug],
    ['args->timeout', args.timeout],
    ['args->delay', args.delay],
    ['args->retr_time', args.retrans],
    // The C flag bits: 4 = an option was invalid, 16 = use UUID.
    ['args->flags', (args.error ? 4 : 0) | (args.useUuid ? 16 : 0)],
    ['args->net.addr', str(args.multicastAddress)],
    ['args->net.ipaddr', str(args.ipaddr)],
    ['args->net.cid', args.cid | 0], // printed with %d
    ['args->net.key_file', args.keyFile],
    ['args->net.port', args.port],
    ['args->net.hash', args.hash],
    ['args->net.auth', args.auth],
    ['args->net.family', args.family],
    // No option sets an interface (the C -I is in neither getopt string).
    ['args->net.ifindex', 0],
    ['args->serial.device', str(args.serialDevice)],
    ['args->serial.speed', args.serialParams],
    ['args->serial.address', args.channelAddress],
  ];
  return `-- args --\n${fields.map(([k, v]) => `  ${k} = ${v}\n`).join('')}-- end args --\n`;
}
