/**
 * Runs inside a hostRoot guest (`node --import tsx`): sends serial requests one after another on a
 * serial or virtio-serial device and prints each response code on its own line. It carries the
 * vmchannel tests until the real agent exists, speaking through the project's own codec; one process
 * for several requests because Node starts slowly in an emulated guest.
 *   serial-request.ts DEVICE ACTION:DOMAIN…      e.g. /dev/virtio-ports/org.fence-virt.0 status:vm1 off:vm1
 */
import { openSync, readSync, writeSync } from 'node:fs';
import { decodeSerialResponse, encodeSerialRequest, MagicFramer, Request, SERIAL_RESPONSE_SIZE } from '../../../src/protocol/index.js';

const [device, ...steps] = process.argv.slice(2);
if (device === undefined || steps.length === 0) {
  console.error('usage: serial-request.ts DEVICE ACTION:DOMAIN…');
  process.exit(64);
}
const fd = openSync(device, 'r+');
const framer = new MagicFramer(SERIAL_RESPONSE_SIZE, decodeSerialResponse);
const chunk = Buffer.alloc(256);

function readResponse(): number {
  // Blocking reads: the harness's command timeout bounds a daemon that never answers.
  for (;;) {
    const n = readSync(fd, chunk);
    if (n === 0) throw new Error(`${device}: end of file before a response`);
    const frame = framer.push(chunk.subarray(0, n)).find((event) => event.type === 'frame');
    if (frame) return frame.value;
  }
}

let seqno = Date.now() % 0x1_0000_0000;
for (const step of steps) {
  const [action = '', domain = ''] = step.split(':');
  const request = Request[action.toUpperCase() as keyof typeof Request];
  if (request === undefined) throw new Error(`unknown action "${action}"`);
  writeSync(fd, encodeSerialRequest({ request, flags: 0, domain, seqno: seqno++ }));
  console.log(readResponse());
}
