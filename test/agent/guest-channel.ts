/**
 * A test-driver node whose guest `vm-guest` has a serial or vmchannel unix socket, for the C daemon's
 * serial listener, and what stands in for QEMU on that socket: socat with a pty (serial), or a relay
 * that lets agents connect over TCP one after another (a QEMU guestfwd, vmchannel).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
      configText({ listeners: { serial: { uri: `test://${node}`, path: dir, mode: kind, key_file: keyFile } }, backendUri: `test://${node}` }),
    args: ['-d', '5'],
    ready: { output: new RegExp(`Registered ${GUEST_UUID} on`) },
  };
}

async function waitForPath(path: string, what: string): Promise<void> {
  for (let i = 0; !existsSync(path); i++) {
    if (i > 200) throw new Error(`${what}: ${path} did not appear`);
    await sleep(25);
  }
}

/** socat listening on the guest socket, with a raw pty at DIR/pty once the daemon has connected. */
export class PtyStandIn {
  readonly pty: string;
  private readonly child: ChildProcess;

  private constructor(socket: string, dir: string) {
    this.pty = join(dir, 'pty');
    this.child = spawn('socat', [`UNIX-LISTEN:${socket}`, `PTY,link=${this.pty},raw,echo=0`], { stdio: 'ignore' });
  }

  static async start(socket: string, dir: string): Promise<PtyStandIn> {
    const standIn = new PtyStandIn(socket, dir);
    await waitForPath(socket, 'socat listening');
    return standIn;
  }

  waitForPty(): Promise<void> {
    return waitForPath(this.pty, 'socat pty');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}

/**
 * vmchannel: the daemon connects to the guest socket once and keeps the connection; agents connect
 * over TCP one at a time, each spliced onto that connection while it lasts.
 */
export class ChannelRelay {
  private daemonSide: Socket | undefined;
  private constructor(
    private readonly unixServer: Server,
    private readonly tcpServer: Server,
  ) {
    unixServer.on('connection', (socket: Socket) => {
      this.daemonSide = socket;
      socket.on('error', () => undefined);
    });
    tcpServer.on('connection', (agent: Socket) => {
      const daemon = this.daemonSide;
      if (!daemon) {
        agent.destroy();
        return;
      }
      const toAgent = (data: Buffer): void => void agent.write(data);
      daemon.on('data', toAgent);
      agent.on('data', (data: Buffer) => daemon.write(data));
      agent.on('error', () => undefined);
      agent.on('close', () => daemon.off('data', toAgent));
    });
  }

  static async start(socket: string, port: number): Promise<ChannelRelay> {
    const unixServer = createServer();
    const tcpServer = createServer();
    unixServer.listen(socket);
    tcpServer.listen(port, '127.0.0.1');
    await Promise.all([once(unixServer, 'listening'), once(tcpServer, 'listening')]);
    return new ChannelRelay(unixServer, tcpServer);
  }

  async stop(): Promise<void> {
    this.daemonSide?.destroy();
    await Promise.all([new Promise((r) => this.unixServer.close(r)), new Promise((r) => this.tcpServer.close(r))]);
  }
}
