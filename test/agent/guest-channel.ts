/**
 * A test-driver node whose guest `vm-guest` has a serial or vmchannel unix socket, for the C daemon's
 * serial listener. What stands in for QEMU on that socket is in test/support/qemu-stand-ins.ts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CDaemonFiles, CDaemonOptions } from '../support/c-daemon.js';
import { configText } from '../support/daemon-config-text.js';
import { NODE_XML } from './daemon-pair.js';

const GUEST_XML = fileURLToPath(new URL('../fixtures/agent/guest-with-channel.xml', import.meta.url));
export const GUEST_UUID = 'c0000000-0000-4000-8000-0000000000ee';

export type ChannelKind = 'serial' | 'vmchannel';

/** Writes DIR/node.xml: node.xml plus vm-guest with its device socket at DIR/guest.sock. */
export async function writeGuestNode(dir: string, kind: ChannelKind): Promise<{ node: string; socket: string }> {
  const socket = join(dir, 'guest.sock');
  const device =
    kind === 'serial'
      ? `<serial type="unix"><source mode="bind" path="${socket}"/><target port="1"/></serial>`
      : `<channel type="unix"><source mode="bind" path="${socket}"/><target type="virtio" name="org.clusterlabs.fence"/></channel>`;
  const guest = (await readFile(GUEST_XML, 'utf8')).replace('@DEVICE@', device);
  const node = join(dir, 'node.xml');
  await writeFile(node, (await readFile(NODE_XML, 'utf8')).replace('</node>', `${guest}</node>`));
  return { node, socket };
}

/** The C daemon's serial listener on DIR's node, ready once it has connected to vm-guest's socket. */
export function serialListenerDaemon(dir: string, node: string, kind: ChannelKind): CDaemonOptions {
  return {
    dir,
    config: ({ keyFile }: CDaemonFiles) =>
      configText({
        listeners: { serial: { uri: `test://${node}`, path: dir, mode: kind, key_file: keyFile } },
        backendUri: `test://${node}`,
      }),
    args: ['-d', '5'],
    ready: { output: new RegExp(`Registered ${GUEST_UUID} on`) },
  };
}
