/**
 * A STAND-IN for LibvirtClient, for the unit tier only: it answers the calls DomainSocketWatch makes
 * (event subscription, list, lookup by UUID, state, live XML) from domains held in memory, and emits
 * the 'lifecycle' and 'connected' events a test makes happen. It is not a model of libvirt: how
 * libvirtd really answers and when it sends events is tested against a real libvirtd
 * (test/libvirt/client.test.ts, test/serial/discovery.test.ts).
 */
import { EventEmitter } from 'node:events';
import {
  ErrorCode,
  LibvirtConnectionError,
  LibvirtError,
  LifecycleEventType,
  ListDomainsFlag,
  type Domain,
  type LibvirtClient,
  type LibvirtClientEvents,
} from '../../src/libvirt/index.js';
import { DomainState } from '../../src/protocol/index.js';
import { domainXml, type TestDomain } from '../serial/node-xml.js';

export class LibvirtStandIn extends EventEmitter<LibvirtClientEvents> {
  readonly uri = 'stand-in:///';
  /** The calls made, by method name, in order. */
  readonly calls: string[] = [];
  /** While false every call fails like a call on a lost connection. */
  private connected = true;
  /** Makes enableLifecycleEvents fail (a libvirtd that refuses the registration). */
  refuseEvents = false;
  private readonly domains = new Map<string, TestDomain>();

  constructor(domains: readonly TestDomain[]) {
    super();
    for (const d of domains) this.domains.set(d.uuid, { ...d });
  }

  /** This stand-in where a LibvirtClient is expected; it has only the calls listed above. */
  asClient(): LibvirtClient {
    return this as unknown as LibvirtClient;
  }

  private call(name: string): void {
    this.calls.push(name);
    if (!this.connected) throw new LibvirtConnectionError(`stand-in: not connected (${name})`, this.uri);
  }

  private domain(uuid: string): TestDomain {
    const d = this.domains.get(uuid);
    if (!d) throw new LibvirtError(`Domain not found: no domain with matching uuid '${uuid}'`, ErrorCode.NoDomain);
    return d;
  }

  private byName(name: string): TestDomain {
    const d = [...this.domains.values()].find((x) => x.name === name);
    if (!d) throw new Error(`stand-in: no domain ${name}`);
    return d;
  }

  private ref(d: TestDomain): Domain {
    return { name: d.name, uuid: d.uuid, id: d.off ? -1 : 1 };
  }

  async enableLifecycleEvents(): Promise<void> {
    this.call('enableLifecycleEvents');
    if (this.refuseEvents) throw new LibvirtError('stand-in: event registration refused', ErrorCode.OperationInvalid);
  }

  async listAllDomains(flags = 0): Promise<Domain[]> {
    this.call('listAllDomains');
    const all = [...this.domains.values()];
    return (flags & ListDomainsFlag.Active ? all.filter((d) => !d.off) : all).map((d) => this.ref(d));
  }

  async lookupByUuid(uuid: string): Promise<Domain> {
    this.call('lookupByUuid');
    return this.ref(this.domain(uuid));
  }

  async getState(dom: Domain): Promise<{ state: number; reason: number }> {
    this.call('getState');
    return { state: this.domain(dom.uuid).off ? DomainState.SHUTOFF : DomainState.RUNNING, reason: 0 };
  }

  async getXmlDesc(dom: Domain): Promise<string> {
    this.call('getXmlDesc');
    return domainXml(this.domain(dom.uuid));
  }

  /** What happens to domains, with the event libvirt would send. */
  start(name: string): void {
    const d = this.byName(name);
    d.off = false;
    this.emitLifecycle(d, LifecycleEventType.Started);
  }

  stop(name: string): void {
    const d = this.byName(name);
    d.off = true;
    this.emitLifecycle(d, LifecycleEventType.Stopped);
  }

  undefine(name: string): void {
    const d = this.byName(name);
    this.domains.delete(d.uuid);
    this.emitLifecycle(d, LifecycleEventType.Undefined);
  }

  /** Changes a domain's devices; `event` is sent if given (without one, nobody is told). */
  change(name: string, devices: Partial<Omit<TestDomain, 'name' | 'uuid'>>, event?: number): void {
    const d = this.byName(name);
    Object.assign(d, devices);
    if (event !== undefined) this.emitLifecycle(d, event);
  }

  /** The connection drops: calls fail, and events are lost until reconnect(). */
  disconnect(): void {
    this.connected = false;
  }

  reconnect(): void {
    this.connected = true;
    this.emit('connected');
  }

  private emitLifecycle(d: TestDomain, event: number): void {
    if (this.connected) this.emit('lifecycle', { name: d.name, uuid: d.uuid, id: d.off ? -1 : 1, event, detail: 0 });
  }
}
