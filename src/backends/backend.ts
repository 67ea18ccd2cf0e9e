/** The interface of every fencing backend (one folder each under src/backends, listed in registry.ts). */
import type { HostInfo } from '../protocol/host-list.js';

export type { HostInfo } from '../protocol/host-list.js';

/** Who asked, for backends that care (cpg) and for logs. */
export interface RequestOrigin {
  /** The requester as logs show it (Requester.display: an address, `cid N (name)`, `UUID (name)`). */
  source: string;
  /** The request's sequence number. */
  seqno: number;
  /**
   * Tells the audit line why the request failed (or why a status answers off), in a few words: `no such
   * domain`, `libvirt qemu:///system unreachable`, libvirt's error text. The last call wins.
   */
  explain?(reason: string): void;
}

export interface HostList {
  hosts: HostInfo[];
  /** The byte sent after the terminator record: libvirt 0, or 1 when a connection could not be asked. */
  code: number;
}

/**
 * What the daemon fences with. FenceDaemon opens one (BackendModule.create) and closes it; the Dispatcher
 * (src/daemon/dispatcher.ts) is the only caller of the rest: listeners hand it admitted requests, it
 * checks permissions, serialises requests per VM and calls one method here per request. Every answer is the response byte the requester receives
 * (docs/protocol.md#response-codes: 0 success or on, 1 failure, 2 off); the Dispatcher adds 3
 * (permission denied) and the listeners the framing. A backend answers its own failures (an unknown VM,
 * a failed libvirt call, libvirt unreachable) with 1 and logs them, and does not throw for them; a
 * throw is a bug or an unexpected failure, which the Dispatcher logs and answers 1, never success.
 */
export interface FenceBackend {
  /** The module name (`libvirt`), for logs. */
  readonly name: string;
  /**
   * The canonical (lowercase) UUID of the VM that `domain` (a name or a UUID) designates, or undefined
   * when the backend cannot find it now. The dispatcher serialises requests by it, so two requests that
   * name one VM differently never run at the same time. Never throws: a lookup that fails answers
   * undefined (the request then runs under a lock keyed by the domain string). `origin` is the request's,
   * the same object its off, on, reboot or status then gets: a backend may hand its lookup over to that
   * call (and to no other request's).
   */
  resolve(domain: string, origin: RequestOrigin): Promise<string | undefined>;
  /**
   * The `null` request (code 0), which needs no permission. What it means is the backend's to say: the
   * libvirt backend does nothing and answers 1, as the C one does.
   */
  null(domain: string): Promise<number>;
  /**
   * Powers the VM off at once (no clean shutdown). Answers 0 once it is off, also when it already was;
   * 1 when the VM is unknown or cannot be reached, or the power-off failed.
   */
  off(domain: string, origin: RequestOrigin): Promise<number>;
  /**
   * Starts the VM. Answers 0 once it was started, also when it was already running (or paused or
   * crashed: as in C it is left as it is); 1 when the VM is unknown or cannot be reached, or the start
   * failed.
   */
  on(domain: string, origin: RequestOrigin): Promise<number>;
  /**
   * Powers the VM off, waits until it is gone or shut off, and starts it again. Answers 0 once the
   * power-off is confirmed, whether or not the start works (the fence is done; a failed start is logged
   * as an error), and 0 for a VM that was off, which stays off; 1 when the VM is unknown or cannot be
   * reached, the power-off failed, or the VM was still there after the wait.
   */
  reboot(domain: string, origin: RequestOrigin): Promise<number>;
  /**
   * Reports without changing anything: 0 when the VM exists and is not shut off (paused and crashed
   * count as on), 2 when it is shut off or unknown, 1 when the backend cannot tell (libvirt
   * unreachable: an unknown VM might be on a connection that did not answer).
   */
  status(domain: string, origin: RequestOrigin): Promise<number>;
  /**
   * The `monitor` request (code 5), which needs no permission: Pacemaker's recurring check of the fencing
   * device. 0 only when the backend could fence now (libvirt answers; cpg: in the group and quorate), 1
   * otherwise, within a few seconds and never by throwing. The C daemon answers 0 whenever it runs
   * (docs/compatibility.md, row 'monitor (device status)').
   */
  devstatus(): Promise<number>;
  /**
   * Every VM the backend knows, with its raw state, in the order the agents print them, and the code that
   * ends the list. The Dispatcher removes the VMs the requester may not see.
   */
  hostList(origin: RequestOrigin): Promise<HostList>;
  /**
   * Releases what the backend holds (its own libvirt connections). Called once when the daemon stops,
   * after the last request finished; connections taken from the daemon's pool are the pool's to close.
   */
  close(): Promise<void>;
}

/**
 * A backend that could not start. `permanent` when waiting cannot cure it (the hypervisor refused the
 * URI, or the URI is not one this daemon can open): with -w the daemon then fails at once instead of
 * retrying forever. Anything else (a hypervisor not up yet) is worth retrying.
 */
export class BackendStartError extends Error {
  override name = 'BackendStartError';

  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}
