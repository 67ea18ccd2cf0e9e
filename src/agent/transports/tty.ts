/**
 * A serial tty through the serialport package: raw mode at the requested speed and framing with
 * RTS/CTS flow control as the C agent sets it, an exclusive lock (a second agent on the same port
 * fails instead of mixing its bytes in), stale input flushed, then the C agent's 300 ms drop of the
 * modem lines to wake the host side. Loaded on first use: fence_xvm never needs it.
 */
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../util/log.js';
import type { SerialSettings } from '../serial-params.js';

const HANGUP_MS = 300;

export async function openTty(path: string, settings: SerialSettings, log: Logger): Promise<Duplex> {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, ...settings, rtscts: true, lock: true, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const call = (what: string, run: (done: (err: Error | null) => void) => void): Promise<void> =>
    new Promise((resolve) =>
      run((err) => {
        // Ptys and some UARTs have no modem lines; the C agent ignores these failures too.
        if (err) log.debug(`${path}: ${what} failed: ${err.message}`);
        resolve();
      }),
    );
  await call('flush', (done) => port.flush(done));
  await call('dropping DTR/RTS', (done) => port.set({ dtr: false, rts: false }, done));
  await sleep(HANGUP_MS);
  await call('raising DTR/RTS', (done) => port.set({ dtr: true, rts: true }, done));
  return port;
}
