/**
 * A character device as a Duplex: a guest's virtio-serial port (/dev/vportNpM), which is not a tty, so
 * serialport cannot open it. Also works for FIFOs and ptys. No terminal setup is done.
 */
import type { Duplex } from 'node:stream';
import { loadAddon } from './addon.js';
import { PollRelay } from './fd-stream.js';

/**
 * Opens `path` read-write and non-blocking; throws errno-coded errors (ENOENT, EACCES…) or
 * ERR_NOT_CHAR_DEVICE for regular files and directories. end() has no half-close on a device: it
 * only finishes writing; destroy() (or the end of both sides) closes the fd.
 */
export function openCharDevice(path: string): Duplex {
  const relay = new PollRelay();
  return relay.attach(loadAddon().openDevice(path, relay.onEvent), { halfClose: false });
}
