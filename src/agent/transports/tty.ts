/**
 * A serial tty through the serialport package: raw mode at the requested speed and framing with
 * RTS/CTS flow control as the C agent sets it, an exclusive lock (a second agent on the same port
 * fails instead of mixing its bytes in), the C agent's 300 ms drop of the modem lines to wake the host
 * side, then the input flushed (tcflush). Loaded on first use: fence_xvm never needs it.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from '../../util/log.js';
import { sleep } from '../../util/sleep.js';
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
  await call('dropping DTR/RTS', (done) => port.set({ dtr: false, rts: false }, done));
  await sleep(HANGUP_MS);
  await call('raising DTR/RTS', (done) => port.set({ dtr: true, rts: true }, done));
  // Last, right before the request goes out: whatever came in until now, during the modem-line drop
  // too, can only be a late answer to an earlier run (the C agent flushes before the drop and so
  // keeps what arrives during it). Without the flush that answer could pass for ours: refuse the run.
  try {
    await new Promise<void>((resolve, reject) => port.flush((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    port.destroy();
    throw new Error(`${path}: cannot discard pending input: ${(err as Error).message}`, { cause: err });
  }
  return port;
}
