/**
 * What the vsock tests put between the CID directory and a real libvirt client: every call goes to the
 * real client (and so to libvirtd), counted; list answers can be held back after libvirtd gave them, to
 * have a scan whose data predates a change. Only the calls the directory makes pass through, so no
 * lifecycle event ever reaches a directory built on it.
 */
import type { LibvirtClient } from '../../src/libvirt/index.js';
import type { VsockLibvirt } from '../../src/listeners/vsock/domains.js';

export class CountingLibvirt implements VsockLibvirt {
  lists = 0;
  xmls = 0;
  /** List answers already received from libvirtd and not yet handed on. */
  heldLists = 0;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  constructor(readonly real: LibvirtClient) {}

  get uri(): string {
    return this.real.uri;
  }

  async listAllDomains(...args: Parameters<LibvirtClient['listAllDomains']>): ReturnType<LibvirtClient['listAllDomains']> {
    this.lists++;
    const domains = await this.real.listAllDomains(...args);
    if (this.gate) {
      this.heldLists++;
      await this.gate;
      this.heldLists--;
    }
    return domains;
  }

  getXmlDesc(...args: Parameters<LibvirtClient['getXmlDesc']>): ReturnType<LibvirtClient['getXmlDesc']> {
    this.xmls++;
    return this.real.getXmlDesc(...args);
  }

  /** From now on list answers wait for release(). */
  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  /** Calls made since `since` (a copy of the counters taken earlier). */
  since(since: { lists: number; xmls: number }): { lists: number; xmls: number } {
    return { lists: this.lists - since.lists, xmls: this.xmls - since.xmls };
  }

  counts(): { lists: number; xmls: number } {
    return { lists: this.lists, xmls: this.xmls };
  }
}

/** Stops the running domain `from` and starts `to`, which has the same fixed CID, through libvirt. */
export async function handOverCid(client: LibvirtClient, from: string, to: string): Promise<void> {
  await client.destroy(await client.lookupByName(from));
  await client.create(await client.lookupByName(to));
}
