/**
 * A FenceBackend held in memory, for the fast unit tier only (dispatcher and gate logic without
 * libvirtd). It is a stand-in, not a model of libvirt: the libvirt backend itself is tested against a
 * real libvirtd. Operations can be held open (`gate`) so a test controls how they interleave.
 */
import type { FenceBackend, HostInfo, HostList } from '../../src/backends/backend.js';
import { DomainState, Response } from '../../src/protocol/index.js';

export class FakeBackend implements FenceBackend {
  readonly name = 'fake';
  readonly calls: string[] = [];
  /** When set, every off/on/reboot/status waits for this before it acts. */
  gate: Promise<void> | undefined;

  constructor(readonly domains: HostInfo[]) {}

  private find(domain: string): HostInfo | undefined {
    const d = domain.toLowerCase();
    return this.domains.find((h) => h.uuid === d || h.name === domain);
  }

  async resolve(domain: string): Promise<string | undefined> {
    return this.find(domain)?.uuid;
  }
  async null(domain: string): Promise<number> {
    this.calls.push(`null ${domain}`);
    return Response.FAIL;
  }
  async devstatus(): Promise<number> {
    this.calls.push('devstatus');
    return Response.SUCCESS;
  }
  async hostList(): Promise<HostList> {
    return { hosts: [...this.domains], code: Response.SUCCESS };
  }
  async close(): Promise<void> {}

  private async act(op: string, domain: string, change: (h: HostInfo) => number): Promise<number> {
    this.calls.push(`${op} ${domain} start`);
    await this.gate;
    const h = this.find(domain);
    const result = h ? change(h) : Response.FAIL;
    this.calls.push(`${op} ${domain} end`);
    return result;
  }
  off(domain: string): Promise<number> {
    return this.act('off', domain, (h) => ((h.state = DomainState.SHUTOFF), Response.SUCCESS));
  }
  on(domain: string): Promise<number> {
    return this.act('on', domain, (h) => ((h.state = DomainState.RUNNING), Response.SUCCESS));
  }
  reboot(domain: string): Promise<number> {
    return this.act('reboot', domain, (h) => ((h.state = DomainState.RUNNING), Response.SUCCESS));
  }
  status(domain: string): Promise<number> {
    return this.act('status', domain, (h) => (h.state === DomainState.SHUTOFF ? Response.OFF : Response.SUCCESS));
  }
}
