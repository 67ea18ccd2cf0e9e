/**
 * Who is asking. `addresses` are matched against `ip` entries of the permission groups and `domains`
 * (the requesting VM's UUID) against `uuid` entries. The C daemon decides which list to search by
 * whether its one source string looks like a UUID; keeping the two kinds apart gives the same answers
 * for every C listener and lets vsock offer a CID and a VM at once.
 */
export interface RequesterIdentity {
  addresses: readonly string[];
  domains: readonly string[];
}

export interface Requester extends RequesterIdentity {
  /** Listener instance name, for the audit line. */
  listener: string;
  /** How the requester is shown in logs, e.g. "127.0.0.1" or "cid 3 (vm-a)". */
  display: string;
  /** The wire protocol version the request came by, for the audit line; absent means 1 (C framing). */
  protocol?: 1 | 2;
}

/** The one string that stands for a requester in daemon-wide bookkeeping (history quotas). */
export function requesterKey(who: RequesterIdentity & { display: string }): string {
  return who.addresses[0] ?? who.domains[0] ?? who.display;
}
