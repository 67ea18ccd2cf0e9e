import { LibvirtClient, UnsupportedUriError } from '../libvirt/index.js';
import type { CheckReport, LibvirtView } from '../module-kit/check-report.js';
import { countOf } from '../util/plural.js';

export interface UriUse {
  uri: string;
  /** Who uses it, for the report (e.g. `backend libvirt`, `listener serial`). */
  users: string[];
}

/** Opens each URI, lists its domains; the connections that worked are returned (the caller closes them). */
export async function checkLibvirtUris(uses: readonly UriUse[], report: CheckReport): Promise<Map<string, LibvirtView>> {
  const views = new Map<string, LibvirtView>();
  for (const { uri, users } of uses) {
    const subject = `libvirt ${uri} (${users.join(', ')})`;
    try {
      const client = await LibvirtClient.open({ uri, connectTimeoutMs: 5_000, callTimeoutMs: 10_000 });
      try {
        const domains = await client.listAllDomains();
        const running = domains.filter((d) => d.id !== -1).length;
        report.ok(subject, `connected through ${client.socketPath}; ${countOf(domains.length, 'domain')}, ${running} running`);
        views.set(uri, { uri, client, domains });
      } catch (err) {
        await client.close();
        throw err;
      }
    } catch (err) {
      const fix =
        err instanceof UnsupportedUriError
          ? 'use a URI of this host, e.g. qemu:///system'
          : 'start libvirtd (systemctl start libvirtd, or virtqemud.socket with the modular daemons) and check the URI';
      report.fail(subject, (err as Error).message, fix);
    }
  }
  return views;
}
