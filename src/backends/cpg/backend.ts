/**
 * The cpg backend: fencing for VMs that run on any host of a corosync cluster. Each host's daemon joins
 * the process group the C daemon's cpg backend uses, announces the VMs of its own libvirt (at join, to
 * hosts that join, and whenever a lifecycle event changes one), and acts only on VMs it owns; a request
 * for a VM of another host goes to that host as a CPG request and its reply is the answer.
 *
 * Unlike the C backend it never answers without proof: no quorum, a VM no member announced, an owner
 * that left or did not answer before the deadline (shorter than an agent's default 30 s) are all
 * failures (1) with the reason logged, never a success and never a wait without end. Only the owner's
 * reply counts; the C daemon's highest node answers for VMs it does not know, and that answer is
 * ignored. This daemon does answer, with failure, for an unknown VM when it is the highest node, so a
 * C requester in the group does not wait forever.
 *
 * The host list is the whole cluster's: every member is asked for its VMs, and the code is 0 only when
 * every member answered (C daemons cannot: a group with one answers 1, listing what they announced).
 */
import { DomainState, Request, Response, requestName } from '../../protocol/constants.js';
import type { LibvirtClient } from '../../libvirt/index.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';
import type { Logger } from '../../util/log.js';
import type { FenceBackend, HostInfo, HostList, RequestOrigin } from '../backend.js';
import { CpgGroup } from './group.js';
import { LocalVms, type LocalVm } from './local-vms.js';
import {
  CPG_GROUP,
  hostListParts,
  replyTo,
  type CpgMessage,
  type CpgRequest,
  type CpgRequestCode,
  type CpgResponseCode,
  type VmRecord,
} from './messages.js';
import { foldName, VmTable, type NameMode } from './vm-table.js';

export interface CpgBackendOptions {
  nameMode: NameMode;
  /** The process group; the C daemon's unless a test needs its own. */
  group?: string;
  /** How long a request forwarded to another host waits for its reply (default 20 s). */
  forwardTimeoutMs?: number;
  /** How long the host list waits for every member's answer (default 5 s). */
  hostListTimeoutMs?: number;
  /** How long joining may take (default 10 s). */
  joinTimeoutMs?: number;
  /** Pause between attempts to reach corosync again after it went away (default 1 s). */
  reconnectMs?: number;
  /** How long one call into the local corosync may take before it counts as gone (default 5 s). */
  callTimeoutMs?: number;
}

interface PendingReply {
  owner: number;
  settle: (response: number, why?: string) => void;
}

interface PendingHostList {
  /** Members asked, and the parts each has sent. */
  waiting: Map<number, { parts: number; received: Map<number, VmRecord[]> }>;
  settle: () => void;
}

const toRecord = (vm: LocalVm, owner: number): VmRecord => ({ name: vm.name, uuid: vm.uuid, owner, state: vm.state });

export class CpgBackend implements FenceBackend {
  readonly name = 'cpg';
  private readonly table = new VmTable();
  private readonly replies = new Map<number, PendingReply>();
  private readonly hostLists = new Map<number, PendingHostList>();
  private readonly perVm = new KeyedMutex();
  private readonly forwardTimeoutMs: number;
  private readonly hostListTimeoutMs: number;
  private seqno = (Math.random() * 0xffffffff) >>> 0;

  private constructor(
    private readonly local: FenceBackend,
    private readonly vms: LocalVms,
    private readonly group: CpgGroup,
    private readonly log: Logger,
    private readonly options: CpgBackendOptions,
  ) {
    this.forwardTimeoutMs = options.forwardTimeoutMs ?? 20_000;
    this.hostListTimeoutMs = options.hostListTimeoutMs ?? 5_000;
  }

  /**
   * Joins the group. `local` acts on this host's VMs (a libvirt backend over the cpg URIs); it belongs
   * to this backend from the call on (closed with it, or at once if opening fails). `clients` are its
   * libvirt connections, followed for lifecycle events.
   * Throws CorosyncUnavailableError without the corosync libraries, a CorosyncError when corosync
   * refuses, and the libvirt error when the domains cannot be listed.
   */
  static async open(
    local: FenceBackend,
    clients: readonly LibvirtClient[],
    logger: Logger,
    options: CpgBackendOptions,
  ): Promise<CpgBackend> {
    const log = logger.child('cpg backend');
    let vms: LocalVms | undefined;
    let group: CpgGroup;
    try {
      vms = await LocalVms.start(clients, log);
      group = await CpgGroup.open(
        {
          group: options.group ?? CPG_GROUP,
          joinTimeoutMs: options.joinTimeoutMs ?? 10_000,
          reconnectMs: options.reconnectMs ?? 1_000,
          callTimeoutMs: options.callTimeoutMs ?? 5_000,
        },
        log,
      );
    } catch (err) {
      vms?.stop();
      await local.close();
      throw err;
    }
    const backend = new CpgBackend(local, vms, group, log, options);
    backend.attach();
    return backend;
  }

  private get self(): number {
    return this.group.nodeId;
  }

  private attach(): void {
    this.vms.on('changed', (vm) => {
      this.table.store(toRecord(vm, this.self));
      this.group.send({ type: 'store-vm', ...toRecord(vm, this.self) });
    });
    this.vms.on('removed', (vm) => {
      this.table.drop(this.self, vm.uuid);
      this.group.send({ type: 'drop-vm', name: vm.name, uuid: vm.uuid, owner: this.self });
    });
    this.group.on('message', (from, message) => this.onMessage(from, message));
    this.group.on('membership', (members, left, joined) => this.onMembership(members, left, joined));
    this.group.on('connection', (up) => {
      if (!up) this.failPending('the connection to corosync was lost');
    });
    this.storeLocal();
  }

  /** The local table and, once joined, the group learn every VM of this host. */
  private storeLocal(): void {
    for (const vm of this.vms.list()) this.table.store(toRecord(vm, this.self));
    if (this.group.ready) this.announceAll();
  }

  private announceAll(): void {
    for (const vm of this.vms.list()) {
      if (!this.group.send({ type: 'store-vm', ...toRecord(vm, this.self) })) return;
    }
  }

  private onMembership(members: ReadonlySet<number>, left: number[], joined: number[]): void {
    this.table.retain(new Set([...members, this.self]));
    for (const [seqno, pending] of this.replies) {
      if (left.includes(pending.owner)) {
        this.replies.delete(seqno);
        pending.settle(Response.FAIL, `node ${pending.owner}, which has the VM, left the group`);
      }
    }
    for (const pending of this.hostLists.values()) {
      for (const node of left) pending.waiting.delete(node);
      this.settleIfComplete(pending);
    }
    // Whoever joins (this node too, when its own join is confirmed) needs to know this host's VMs.
    if (joined.length > 0 && this.group.ready) this.announceAll();
  }

  private onMessage(from: number, message: CpgMessage): void {
    if (from === this.self) return; // our own messages come back in order; we acted on them when sending
    switch (message.type) {
      case 'store-vm':
      case 'drop-vm':
        if (message.owner !== from) {
          this.log.warn(`ignoring a ${message.type} of '${message.name}' from node ${from} that names node ${message.owner} as owner`);
        } else if (message.type === 'store-vm') {
          this.table.store(message);
        } else {
          this.table.drop(from, message.uuid);
        }
        break;
      case 'request':
        void this.onRequest(from, message);
        break;
      case 'reply': {
        if (message.target !== this.self) break;
        const pending = this.replies.get(message.seqno);
        if (!pending) break;
        if (pending.owner !== from) {
          this.log.info(`ignoring a reply for '${message.vmName}' from node ${from}: node ${pending.owner} has the VM`);
          break;
        }
        this.replies.delete(message.seqno);
        pending.settle(message.response);
        break;
      }
      case 'host-list-query':
        void this.answerHostList(from, message.seqno);
        break;
      case 'host-list': {
        const pending = message.target === this.self ? this.hostLists.get(message.seqno) : undefined;
        const answer = pending?.waiting.get(from);
        if (!pending || !answer) break;
        answer.parts = message.parts;
        answer.received.set(
          message.part,
          message.vms.filter((vm) => vm.owner === from),
        );
        this.settleIfComplete(pending);
        break;
      }
    }
  }

  /**
   * Another host asks: act if this host owns the VM; stay silent if another member does. The owner is
   * the one the asker chose (resolved as the asker resolved it): for a VM shut off on several hosts,
   * each holder resolving for itself would make all of them act.
   */
  private async onRequest(from: number, request: CpgRequest): Promise<void> {
    const what = `${requestName(request.request)} '${request.vmName}' for node ${from}`;
    const ownership = this.table.resolve(request.vmName, this.members(), from, this.options.nameMode);
    let response: number;
    if (ownership.kind === 'owner' && ownership.node === this.self) {
      if (!this.group.quorate) {
        this.log.warn(`${what}: refused, this partition has no quorum`);
        response = Response.FAIL;
      } else {
        const origin = { source: `cpg node ${from}`, seqno: request.fenceSeqno };
        response = await this.perVm.run(ownership.record.uuid, () => this.runLocal(request.request, request.vmName, origin));
      }
    } else if (ownership.kind !== 'owner' && this.self === Math.max(...this.members())) {
      this.log.warn(`${what}: ${ownership.reason}; answering failure as the highest node`);
      response = Response.FAIL;
    } else {
      return;
    }
    const code: CpgResponseCode = response === Response.SUCCESS || response === Response.OFF ? response : Response.FAIL;
    this.log.info(`${what}: answering ${code}`);
    this.group.send(replyTo(request, from, code));
  }

  private runLocal(request: CpgRequestCode, domain: string, origin: RequestOrigin): Promise<number> {
    switch (request) {
      case Request.OFF:
        return this.local.off(domain, origin);
      case Request.ON:
        return this.local.on(domain, origin);
      case Request.REBOOT:
        return this.local.reboot(domain, origin);
      case Request.STATUS:
        return this.local.status(domain, origin);
    }
  }

  private members(): ReadonlySet<number> {
    return new Set([...this.group.members, this.self]);
  }

  /** A request from an agent on this host: act if the VM is here, else ask its owner. */
  private async call(request: CpgRequestCode, domain: string, origin: RequestOrigin): Promise<number> {
    const what = `${requestName(request)} '${domain}' (from ${origin.source}, seq ${origin.seqno})`;
    if (!this.group.ready) {
      this.log.error(`${what}: not a member of the group (corosync unavailable); answering failure`);
      return Response.FAIL;
    }
    // Asked now, not taken from the tracked state: a stopped corosync sends no news.
    const proof = await this.group.confirmQuorum();
    if (!proof.quorate) {
      this.log.error(`${what}: ${proof.why ?? 'this partition has no quorum'}; answering failure`);
      return Response.FAIL;
    }
    const ownership = this.table.resolve(domain, this.members(), this.self, this.options.nameMode);
    if (ownership.kind !== 'owner') {
      this.log.error(`${what}: ${ownership.reason}; answering failure`);
      return Response.FAIL;
    }
    if (ownership.node === this.self) return this.perVm.run(ownership.record.uuid, () => this.runLocal(request, domain, origin));
    return this.forward(
      ownership.node,
      { type: 'request', seqno: this.nextSeqno(), request, vmName: domain, fenceSeqno: origin.seqno },
      what,
    );
  }

  private forward(owner: number, request: CpgRequest, what: string): Promise<number> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.replies.delete(request.seqno);
        settle(Response.FAIL, `node ${owner} did not answer within ${this.forwardTimeoutMs} ms`);
      }, this.forwardTimeoutMs);
      const settle = (response: number, why?: string): void => {
        clearTimeout(timer);
        if (why) this.log.error(`${what}: ${why}; answering failure`);
        else this.log.info(`${what}: node ${owner} answered ${response}`);
        resolve(response);
      };
      this.replies.set(request.seqno, { owner, settle });
      this.log.info(`${what}: asking node ${owner}, which has the VM`);
      if (!this.group.send(request)) {
        this.replies.delete(request.seqno);
        settle(Response.FAIL, 'the connection to corosync was lost');
      }
    });
  }

  private nextSeqno(): number {
    this.seqno = (this.seqno + 1) >>> 0;
    return this.seqno;
  }

  private failPending(why: string): void {
    for (const pending of this.replies.values()) pending.settle(Response.FAIL, why);
    this.replies.clear();
    for (const pending of this.hostLists.values()) pending.settle();
  }

  private async answerHostList(from: number, seqno: number): Promise<void> {
    const { hosts, code } = await this.local.hostList({ source: `cpg node ${from}`, seqno });
    if (code !== Response.SUCCESS) {
      this.log.warn(`host list for node ${from}: this host's list is incomplete; not answering`);
      return;
    }
    const vms = hosts.map((h) => ({ name: h.name, uuid: h.uuid, owner: this.self, state: h.state }));
    for (const part of hostListParts(seqno, from, vms)) this.group.send(part);
  }

  private settleIfComplete(pending: PendingHostList): void {
    for (const answer of pending.waiting.values()) if (answer.parts === 0 || answer.received.size < answer.parts) return;
    pending.settle();
  }

  async hostList(origin: RequestOrigin): Promise<HostList> {
    const localList = await this.local.hostList(origin);
    if (!this.group.ready) {
      this.log.error(`host list (from ${origin.source}): not a member of the group; listing this host only`);
      return { hosts: localList.hosts, code: Response.FAIL };
    }
    const seqno = this.nextSeqno();
    const others = [...this.group.members].filter((n) => n !== this.self);
    const pending: PendingHostList = {
      waiting: new Map(others.map((n) => [n, { parts: 0, received: new Map() }])),
      settle: () => undefined,
    };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => pending.settle(), this.hostListTimeoutMs);
      pending.settle = () => {
        clearTimeout(timer);
        this.hostLists.delete(seqno);
        resolve();
      };
      this.hostLists.set(seqno, pending);
      if (others.length === 0 || !this.group.send({ type: 'host-list-query', seqno })) pending.settle();
    });

    const hosts: HostInfo[] = [...localList.hosts];
    const silent: number[] = [];
    for (const node of others) {
      const answer = pending.waiting.get(node);
      const complete = answer !== undefined && answer.parts > 0 && answer.received.size === answer.parts;
      // A member that did not answer is listed from what it announced.
      const vms = complete ? [...answer.received.values()].flat() : this.table.recordsOf(node);
      if (!complete) silent.push(node);
      hosts.push(...vms.map((vm) => ({ name: vm.name, uuid: vm.uuid, state: vm.state })));
    }
    const problems = [
      ...(localList.code !== Response.SUCCESS ? ["this host's list is incomplete"] : []),
      ...(silent.length > 0 ? [`no complete answer from node${silent.length > 1 ? 's' : ''} ${silent.join(', ')}`] : []),
      ...(this.group.quorate ? [] : ['this partition has no quorum']),
    ];
    if (problems.length > 0) this.log.error(`host list (from ${origin.source}): ${problems.join('; ')}; answering 1`);
    return { hosts: dedupe(hosts), code: problems.length === 0 ? Response.SUCCESS : Response.FAIL };
  }

  async resolve(domain: string): Promise<string | undefined> {
    const ownership = this.table.resolve(domain, this.members(), this.self, this.options.nameMode);
    return ownership.kind === 'owner' ? ownership.record.uuid : undefined;
  }

  /** The C backend fails it too: there is nothing to check. */
  async null(domain: string): Promise<number> {
    this.log.debug(`null request for '${domain}': not supported, answering failure`);
    return Response.FAIL;
  }

  /** The device works when this daemon is in the group, corosync answers that the partition is quorate and this host's libvirt answers. */
  async devstatus(): Promise<number> {
    if (!this.group.ready || !(await this.group.confirmQuorum()).quorate) return Response.FAIL;
    return this.local.devstatus();
  }

  off(domain: string, origin: RequestOrigin): Promise<number> {
    return this.call(Request.OFF, domain, origin);
  }

  on(domain: string, origin: RequestOrigin): Promise<number> {
    return this.call(Request.ON, domain, origin);
  }

  reboot(domain: string, origin: RequestOrigin): Promise<number> {
    return this.call(Request.REBOOT, domain, origin);
  }

  status(domain: string, origin: RequestOrigin): Promise<number> {
    return this.call(Request.STATUS, domain, origin);
  }

  async close(): Promise<void> {
    this.vms.stop();
    this.failPending('the backend is closing');
    await this.group.close();
    await this.local.close();
  }
}

/** One entry per VM, sorted by name as the libvirt backend sorts; a VM defined on several hosts shows its state where it is not shut off. */
function dedupe(hosts: HostInfo[]): HostInfo[] {
  const byUuid = new Map<string, HostInfo>();
  for (const host of hosts) {
    const seen = byUuid.get(host.uuid);
    if (!seen || (seen.state === DomainState.SHUTOFF && host.state !== DomainState.SHUTOFF)) byUuid.set(host.uuid, host);
  }
  return [...byUuid.values()].sort((a, b) => Buffer.compare(Buffer.from(foldName(a.name)), Buffer.from(foldName(b.name))));
}
