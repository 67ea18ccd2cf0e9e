import { existsSync } from 'node:fs';
import { LibvirtClient, LibvirtError, LibvirtTimeoutError, UnsupportedUriError } from '../libvirt/index.js';
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
      report.fail(subject, (err as Error).message, fixFor(uri, err));
    }
  }
  return views;
}

/**
 * The fix depends on who refused: libvirtd answering with an error runs, so the URI (or the test
 * driver's node file it names) is what is wrong; only a connection that fails means libvirtd is down.
 */
function fixFor(uri: string, err: unknown): string {
  if (err instanceof UnsupportedUriError) return 'use a URI of this host, e.g. qemu:///system';
  if (err instanceof LibvirtTimeoutError) {
    return 'libvirtd accepted the connection but did not answer: see systemctl status libvirtd and its journal';
  }
  if (!(err instanceof LibvirtError)) {
    return 'start libvirtd (systemctl start libvirtd, or virtqemud.socket with the modular daemons) and check the URI';
  }
  const nodeFile = testNodeFile(uri);
  if (nodeFile !== undefined) {
    return existsSync(nodeFile)
      ? `libvirtd runs, but the test driver cannot load ${nodeFile}: correct that file's XML`
      : `libvirtd runs, but the test driver's node file ${nodeFile} does not exist: correct the path in the URI`;
  }
  return 'libvirtd runs and refused this URI: correct it (the usual one is qemu:///system; virsh -c URI list must work)';
}

/** The node file a test-driver URI loads (`test:///path/node.xml`); undefined for other URIs and test:///default. */
function testNodeFile(uri: string): string | undefined {
  const match = /^test(?:\+unix)?:\/\/(\/[^?]*)/.exec(uri);
  return match && match[1] !== '/default' ? decodeURIComponent(match[1] as string) : undefined;
}
