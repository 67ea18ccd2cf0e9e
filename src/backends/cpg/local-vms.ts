/**
 * The VMs of this host as libvirt reports them, kept current from lifecycle events: what this host
 * announces to the group. A full listing happens at start and after every libvirt reconnect (events
 * may have been missed meanwhile); an event re-reads the one domain it names.
 */
import { EventEmitter } from 'node:events';
import { ErrorCode, LibvirtError, listDomainStates, type LibvirtClient, type LifecycleEvent } from '../../libvirt/index.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';
import type { Logger } from '../../util/log.js';

export interface LocalVm {
  name: string;
  /** Lowercase canonical UUID. */
  uuid: string;
  state: number;
}

export interface LocalVmsEvents {
  /** A VM appeared or changed state. */
  changed: [vm: LocalVm];
  /** A VM is no longer defined here (undefined, or a transient VM stopped or migrated away). */
  removed: [vm: LocalVm];
}

const isNoDomain = (err: unknown): boolean => err instanceof LibvirtError && err.code === ErrorCode.NoDomain;

export class LocalVms extends EventEmitter<LocalVmsEvents> {
  private readonly vms = new Map<string, LocalVm>();
  private readonly serial = new KeyedMutex();
  private readonly subscriptions: Array<[LibvirtClient, 'lifecycle' | 'connected', (...args: never[]) => void]> = [];

  private constructor(
    private readonly clients: readonly LibvirtClient[],
    private readonly log: Logger,
  ) {
    super();
  }

  /** Lists every domain of `clients` and follows their lifecycle events. */
  static async start(clients: readonly LibvirtClient[], log: Logger): Promise<LocalVms> {
    const local = new LocalVms(clients, log);
    for (const client of clients) {
      const onEvent = (event: LifecycleEvent): void => void local.refresh(client, event.uuid, event.name);
      const onConnected = (): void => void local.resync();
      client.on('lifecycle', onEvent);
      client.on('connected', onConnected);
      local.subscriptions.push([client, 'lifecycle', onEvent], [client, 'connected', onConnected]);
      await client.enableLifecycleEvents();
    }
    await local.resync();
    return local;
  }

  list(): LocalVm[] {
    return [...this.vms.values()];
  }

  /** Stops following events (the clients stay registered: other parts of the daemon may share them). */
  stop(): void {
    for (const [client, event, listener] of this.subscriptions.splice(0)) client.off(event, listener as never);
  }

  /** Re-lists everything; domains no longer listed are removed. A connection that fails keeps what it had. */
  async resync(): Promise<void> {
    const listed = new Map<string, LocalVm>();
    let complete = true;
    for (const client of this.clients) {
      try {
        for (const { dom, state } of await listDomainStates(client, this.log)) {
          const uuid = dom.uuid.toLowerCase();
          listed.set(uuid, { name: dom.name, uuid, state });
        }
      } catch (err) {
        complete = false;
        this.log.warn(`cannot list the domains of ${client.uri}: ${(err as Error).message}`);
      }
    }
    for (const vm of listed.values()) this.update(vm);
    if (complete) for (const vm of this.list()) if (!listed.has(vm.uuid)) this.remove(vm);
  }

  /** One domain again, after an event; one at a time per domain so updates keep their order. */
  private refresh(client: LibvirtClient, uuid: string, name: string): Promise<void> {
    return this.serial.run(uuid, async () => {
      try {
        const vm = await this.read(client, uuid, name);
        const known = this.vms.get(uuid.toLowerCase());
        if (vm) this.update(vm);
        else if (known) this.remove(known);
      } catch (err) {
        this.log.warn(`cannot read the state of '${name}' after a lifecycle event: ${(err as Error).message}`);
      }
    });
  }

  /** The domain's current record, or null when libvirt no longer has it. */
  private async read(client: LibvirtClient, uuid: string, name: string): Promise<LocalVm | null> {
    try {
      const dom = await client.lookupByUuid(uuid.toLowerCase());
      const { state } = await client.getInfo(dom);
      return { name: dom.name, uuid: dom.uuid.toLowerCase(), state };
    } catch (err) {
      if (isNoDomain(err)) return null;
      throw new Error(`domain '${name}': ${(err as Error).message}`, { cause: err });
    }
  }

  private update(vm: LocalVm): void {
    const old = this.vms.get(vm.uuid);
    if (old && old.name === vm.name && old.state === vm.state) return;
    this.vms.set(vm.uuid, vm);
    this.emit('changed', vm);
  }

  private remove(vm: LocalVm): void {
    this.vms.delete(vm.uuid);
    this.emit('removed', vm);
  }
}
