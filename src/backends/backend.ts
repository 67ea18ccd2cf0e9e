/**
 * The one interface between listeners and backends. Every method answers with the response byte the
 * listener sends back (docs/protocol.md#response-codes: 0 success/on, 1 failure, 2 off); listeners add PERM and the
 * host-list framing themselves. A backend never throws for a per-domain failure; it answers 1.
 */
import type { HostInfo } from '../protocol/host-list.js';

export type { HostInfo } from '../protocol/host-list.js';

/** Who asked, for backends that care (cpg) and for logs. */
export interface RequestOrigin {
  /** Requester identity as the listener established it (IP text, CID text or VM UUID). */
  source: string;
  /** The request's sequence number. */
  seqno: number;
}

export interface HostList {
  hosts: HostInfo[];
  /** The byte sent after the terminator record (libvirt 0, cpg 1). */
  code: number;
}

export interface FenceBackend {
  readonly name: string;
  /**
   * The canonical (lowercase) UUID of the VM that `domain` (a name or a UUID) designates, or undefined
   * when the backend cannot find it now. The dispatcher serialises requests by it, so two requests that
   * name one VM differently never run at the same time. Never throws.
   */
  resolve(domain: string): Promise<string | undefined>;
  null(domain: string): Promise<number>;
  off(domain: string, origin: RequestOrigin): Promise<number>;
  on(domain: string, origin: RequestOrigin): Promise<number>;
  reboot(domain: string, origin: RequestOrigin): Promise<number>;
  status(domain: string, origin: RequestOrigin): Promise<number>;
  devstatus(): Promise<number>;
  hostList(origin: RequestOrigin): Promise<HostList>;
  close(): Promise<void>;
}
