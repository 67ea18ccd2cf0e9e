/**
 * The C fence_virtd as the control in the attack tests: it runs one listener per process, so each
 * listener a case needs gets its own daemon, all on the same backend and key.
 */
import { startCDaemon, type CDaemon } from '../support/c-daemon.js';
import { configText } from '../support/daemon-config-text.js';

export type CListener = readonly [module: 'tcp' | 'multicast', settings: Readonly<Record<string, string>>, port: number];

/** Starts one C daemon per listener, in order, each ready once it holds its socket. */
export async function startCDaemons(key: Buffer, backendUri: string, listeners: readonly CListener[]): Promise<CDaemon[]> {
  const daemons: CDaemon[] = [];
  for (const [name, settings, port] of listeners) {
    daemons.push(
      await startCDaemon({
        key,
        config: ({ keyFile }) => configText({ listeners: { [name]: { ...settings, key_file: keyFile } }, backendUri }),
        ready: { listening: { protocol: name === 'tcp' ? 'tcp' : 'udp', port } },
      }),
    );
  }
  return daemons;
}
