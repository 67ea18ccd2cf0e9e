/**
 * Opens the -D device. A tty (the guest's emulated serial port, or a pty in tests) goes through the
 * serialport package, which programs speed, framing and flow control; anything else (a virtio-serial
 * port /dev/vportNpM, possibly through a /dev/virtio-ports/NAME link) is not a tty, so serialport and
 * the C agent's tcsetattr() both fail on it, and it is opened as a plain character device polled by
 * the native addon. isatty() on the opened file decides, not the name: links and renamed nodes are
 * common, and the question is exactly whether terminal settings apply.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { isatty } from 'node:tty';
import { openCharDevice } from '../../native/chardev.js';
import type { Logger } from '../../util/log.js';
import type { SerialChannel } from '../serial-exchange.js';
import type { SerialSettings } from '../serial-params.js';
import { openTty } from './tty.js';

/** A tty comes back flushed; a character device has no flush, so its pending bytes are left to the exchange. */
export async function openSerialDevice(path: string, settings: SerialSettings, log: Logger): Promise<SerialChannel> {
  const fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  let tty: boolean;
  try {
    tty = isatty(fd);
  } finally {
    closeSync(fd);
  }
  if (tty) return { stream: await openTty(path, settings, log), flushed: true };
  log.debug(`${path} is not a tty; opening it as a character device`);
  return { stream: openCharDevice(path), flushed: false };
}
