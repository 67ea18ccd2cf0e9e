/**
 * Types of the compiled addon (build/Release/cpg.node); see src/*.c.
 *
 * Each handle is a connection to the corosync of this host (of this network namespace: its IPC sockets
 * are abstract unix sockets). Its fd is polled by libuv on Node's own loop; listeners run from the loop
 * after the library's dispatch has returned, so they may call any method, finalize() included.
 * Failed corosync calls throw an Error whose code is the cs_error_t name (e.g. 'CS_ERR_TRY_AGAIN').
 *
 * connect/join/leave/localGet/membershipGet/groupMembers/getInfo/trackStart/trackStop/finalize are
 * request-reply exchanges with the local corosync that the libraries wait for without a limit (a
 * stopped corosync holds them forever). They run one at a time on the handle's own thread and return
 * promises, so the loop never waits: put a deadline on them. mcastJoined and the dispatch never wait.
 * A pending call keeps the process alive until the handle is finalized; a finalized handle never does.
 */

export interface CorosyncError extends Error {
  /** The cs_error_t name, e.g. 'CS_ERR_LIBRARY' (corosync not running or gone), 'CS_ERR_TRY_AGAIN'. */
  code: string;
  /** The cs_error_t number. */
  csError: number;
  /** The library function that failed. */
  call: string;
}

export interface CpgAddress {
  nodeId: number;
  pid: number;
  /** cpg_reason_t: constants.CPG_REASON_*; 0 in member lists. */
  reason: number;
}

export interface CpgListeners {
  /** A message multicast to a group this handle joined, in agreed order (own messages included). */
  deliver(nodeId: number, pid: number, message: Buffer, group: string): void;
  /** The group's membership changed: the members now, who left (with why) and who joined. */
  confchg(members: CpgAddress[], left: CpgAddress[], joined: CpgAddress[], group: string): void;
  /** The connection to corosync failed (corosync stopped): no further events; finalize the handle. */
  error(err: CorosyncError): void;
}

/** A libcpg handle; one process may hold several. The constructor connects to nothing. */
export class Cpg {
  constructor(listeners: CpgListeners);
  /** cpg_initialize; on failure the handle is finalized. Other methods need it done first. */
  connect(): Promise<void>;
  /** cpg_join; CS_ERR_TRY_AGAIN while corosync synchronises a membership change. */
  join(group: string): Promise<void>;
  leave(group: string): Promise<void>;
  /**
   * cpg_mcast_joined, agreed order: true when queued, false when flow control says try again later
   * (also while one of the calls above is under way on this handle).
   */
  mcastJoined(message: Buffer): boolean;
  /** cpg_local_get: this node's id. */
  localGet(): Promise<number>;
  /** cpg_membership_get: the current members of a group this handle joined. */
  membershipGet(group: string): Promise<CpgAddress[]>;
  /** The members of any group, without joining it (cpg_iteration_*); reason is 0. */
  groupMembers(group: string): Promise<CpgAddress[]>;
  /** The largest message mcastJoined accepts. */
  maxMessageSize(): number;
  /** The IPC fd being polled; -1 unless connected. */
  fd(): number;
  /**
   * Stops polling at once (no listener is called afterwards; methods then throw CS_ERR_BAD_HANDLE) and
   * lets the library go (cpg_finalize, which leaves every group) after any call under way; the promise
   * settles once it has. Idempotent.
   */
  finalize(): Promise<void>;
}

export interface VotequorumNode {
  nodeId: number;
  /** constants.VOTEQUORUM_NODESTATE_*. */
  state: number;
}

export interface VotequorumInfo {
  nodeId: number;
  nodeState: number;
  nodeVotes: number;
  expectedVotes: number;
  highestExpected: number;
  totalVotes: number;
  quorum: number;
  /** VOTEQUORUM_INFO_* bits. */
  flags: number;
  /** flags has VOTEQUORUM_INFO_QUORATE. */
  quorate: boolean;
}

export interface VotequorumListeners {
  /** After trackStart(): the current state at once, then every change. */
  quorum(quorate: boolean, nodes: VotequorumNode[]): void;
  error(err: CorosyncError): void;
}

/** A libvotequorum handle. The constructor connects to nothing. */
export class Votequorum {
  constructor(listeners: VotequorumListeners);
  /** votequorum_initialize; on failure the handle is finalized. */
  connect(): Promise<void>;
  /** votequorum_getinfo for a node; 0 (the default) is this node. */
  getInfo(nodeId?: number): Promise<VotequorumInfo>;
  trackStart(): Promise<void>;
  trackStop(): Promise<void>;
  fd(): number;
  finalize(): Promise<void>;
}

export const constants: Readonly<{
  CPG_MAX_NAME_LENGTH: number;
  CPG_REASON_JOIN: number;
  CPG_REASON_LEAVE: number;
  CPG_REASON_NODEDOWN: number;
  CPG_REASON_NODEUP: number;
  CPG_REASON_PROCDOWN: number;
  VOTEQUORUM_NODESTATE_MEMBER: number;
  VOTEQUORUM_NODESTATE_DEAD: number;
  VOTEQUORUM_NODESTATE_LEAVING: number;
}>;
