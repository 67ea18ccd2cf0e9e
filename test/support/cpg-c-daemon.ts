/**
 * The C fence_virtd with its cpg backend on a host of a CorosyncCluster, with a TCP listener on the
 * host's own loopback (fence_virt -T 127.0.0.1 run inside the host reaches it).
 *
 * The C daemon starts its CPG dispatch thread before it stores the handle that thread dispatches, so
 * now and then the thread finds no handle, ends at once, and the daemon never receives a message (it
 * then hangs on every request). A daemon left with its main thread only is started again.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { C_FENCE_VIRTD } from './c-daemon.js';
import type { CorosyncHost } from './corosync-cluster.js';
import { DaemonProcess } from './daemon-process.js';
import { runTool, type ToolResult } from './processes.js';

export const C_CPG_PORT = 1229;

export class CpgCDaemon {
  private constructor(
    readonly host: CorosyncHost,
    readonly process: DaemonProcess,
    readonly keyFile: string,
  ) {}

  /** Starts it with `uri` as backends/cpg/uri (libvirt's in-process test:///default needs no libvirtd). */
  static async start(host: CorosyncHost, uri = 'test:///default'): Promise<CpgCDaemon> {
    const keyFile = join(host.dir, 'fence_xvm.key');
    const config = join(host.dir, 'fence_virt.conf');
    writeFileSync(keyFile, 'cpg interop key', { mode: 0o600 });
    writeFileSync(
      config,
      `fence_virtd { listener = "tcp"; backend = "cpg"; }
listeners { tcp { key_file = "${keyFile}"; address = "127.0.0.1"; port = "${C_CPG_PORT}"; family = "ipv4"; } }
backends { cpg { uri = "${uri}"; } }
`,
      { mode: 0o600 },
    );
    const [command, args] = host.wrap('stdbuf', ['-oL', '-eL', C_FENCE_VIRTD, '-F', '-d', '9', '-f', config, '-p', join(host.dir, 'pid')]);
    for (let attempt = 1; ; attempt++) {
      const daemon = DaemonProcess.start(command, args);
      await daemon.waitForOutput(/ipv4_listen: Success/);
      if (readdirSync(`/proc/${daemon.pid}/task`).length >= 2) return new CpgCDaemon(host, daemon, keyFile);
      await daemon.stop();
      if (attempt === 10) throw new Error('the C daemon lost its CPG dispatch thread in 10 starts out of 10');
    }
  }

  /** fence_virt inside the host, as a guest agent reaching this daemon would run it. */
  agent(action: string, domain: string, timeoutSeconds = 10): Promise<ToolResult> {
    const args = [
      '-T',
      '127.0.0.1',
      '-p',
      String(C_CPG_PORT),
      '-k',
      this.keyFile,
      '-t',
      String(timeoutSeconds),
      '-o',
      action,
      '-H',
      domain,
    ];
    const [command, wrapped] = this.host.wrap('/usr/sbin/fence_virt', args);
    return runTool(command, wrapped, { timeoutMs: (timeoutSeconds + 10) * 1000 });
  }

  stop(): Promise<void> {
    return this.process.stop();
  }
}
