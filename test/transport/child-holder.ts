/**
 * Child process of the "exits by itself" test: holds a vsock listener and a char-device stream that
 * is reading, says "ready", and closes both on SIGUSR2. Nothing else keeps its event loop alive.
 */
import { openCharDevice } from '../../src/native/chardev.js';
import { listenVsock } from '../../src/native/vsock.js';

const [portText, fifo] = process.argv.slice(2);
const server = listenVsock({ port: Number(portText) });
const device = openCharDevice(fifo ?? '');
device.resume(); // reading: its poller is active
process.once('SIGUSR2', () => {
  server.close();
  device.destroy();
});
process.stdout.write('ready\n');
