/**
 * Which host of the group has which VM, from the hosts' own announcements (store-vm, drop-vm) and this
 * host's libvirt, and which host acts on a request for a VM. Pure bookkeeping.
 *
 * Every host keeps its own record of a VM: a persistent VM can be defined on several hosts, shut off
 * on all but the one that runs it, and a migration briefly shows it on two. A single "last announcement
 * wins" entry, as the C daemon keeps, would let a shut-off copy hide the running one and make "off" a
 * false success. The owner is therefore the one host where the VM is not shut off; with none, one host
 * that has it defined acts (the asking host if it has a copy, else the lowest node id: every member
 * computes the same host for a request, so exactly one acts, and an `on` starts one copy only); with
 * several, nobody can say which copy the request means, and the request is refused.
 */
import { DomainState } from '../../protocol/constants.js';
import { isUuidString } from '../../protocol/uuid.js';
import type { VmRecord } from './messages.js';

export type NameMode = 'name' | 'uuid';

export type Ownership =
  /** `node` acts on the VM; `record` is that host's record of it. */
  { kind: 'owner'; node: number; record: VmRecord } | { kind: 'unknown'; reason: string } | { kind: 'ambiguous'; reason: string };

/** ASCII case folding, as strcasecmp compares names in the C daemon. */
export const foldName = (name: string): string => name.replace(/[A-Z]+/g, (s) => s.toLowerCase());

export class VmTable {
  /** node id -> uuid -> that node's record. */
  private readonly byNode = new Map<number, Map<string, VmRecord>>();

  /** Records (or replaces) `record.owner`'s record of the VM; true if anything changed. */
  store(record: VmRecord): boolean {
    const uuid = record.uuid.toLowerCase();
    let vms = this.byNode.get(record.owner);
    if (!vms) this.byNode.set(record.owner, (vms = new Map()));
    const old = vms.get(uuid);
    if (old && old.name === record.name && old.state === record.state) return false;
    vms.set(uuid, { ...record, uuid });
    return true;
  }

  /** `owner` no longer has the VM; true if it had a record. */
  drop(owner: number, uuid: string): boolean {
    return this.byNode.get(owner)?.delete(uuid.toLowerCase()) ?? false;
  }

  /** Forgets everything `owner` announced (it left the group). */
  dropNode(owner: number): void {
    this.byNode.delete(owner);
  }

  /** Keeps only the nodes in `members`. */
  retain(members: ReadonlySet<number>): void {
    for (const node of this.byNode.keys()) if (!members.has(node)) this.byNode.delete(node);
  }

  /** `owner`'s records, in no particular order. */
  recordsOf(owner: number): VmRecord[] {
    return [...(this.byNode.get(owner)?.values() ?? [])];
  }

  /**
   * Who acts on `domain` (a UUID by its syntax, else a name compared without ASCII case), among the
   * hosts in `members`, for a request that `asker` received from an agent. In uuid mode, as in the C
   * daemon, only UUIDs name a VM.
   */
  resolve(domain: string, members: ReadonlySet<number>, asker: number, mode: NameMode): Ownership {
    const byUuid = isUuidString(domain);
    if (!byUuid && mode === 'uuid') return { kind: 'unknown', reason: `name_mode is uuid and '${domain}' is not a UUID` };
    const key = byUuid ? domain.toLowerCase() : foldName(domain);
    const holders: VmRecord[] = [];
    for (const [node, vms] of this.byNode) {
      if (!members.has(node)) continue;
      for (const vm of vms.values()) if ((byUuid ? vm.uuid : foldName(vm.name)) === key) holders.push(vm);
    }
    if (holders.length === 0) return { kind: 'unknown', reason: `no member of the group has a VM '${domain}'` };
    const uuids = new Set(holders.map((vm) => vm.uuid));
    if (uuids.size > 1) return { kind: 'ambiguous', reason: `'${domain}' names ${uuids.size} different VMs (${[...uuids].join(', ')})` };
    const active = holders.filter((vm) => vm.state !== DomainState.SHUTOFF);
    if (active.length > 1) {
      const nodes = active.map((vm) => vm.owner).sort((a, b) => a - b);
      return { kind: 'ambiguous', reason: `'${domain}' is not shut off on several hosts (nodes ${nodes.join(', ')})` };
    }
    const chosen = active[0] ?? holders.find((vm) => vm.owner === asker) ?? holders.reduce((a, b) => (b.owner < a.owner ? b : a));
    return { kind: 'owner', node: chosen.owner, record: chosen };
  }
}
