/**
 * Types of the compiled addon (build/Release/cpg.node); see src/*.c.
 *
 * Each handle is a connection to the corosync of this host (of this network namespace: its IPC sockets
 * are abstract unix sockets). Its fd is polled by libuv on Node's own loop; listeners run from the loop
 * after the library's dispatch has returned, so they may call any method, finalize() included.
 * Failed corosync calls throw an Error whose code is the cs_error_t name (e.g. 'CS_ERR_TRY_AGAIN').
 *
 * The constructors and join/leave/localGet/membershipGet/getInfo/trackStart/trackStop/finalize are
 * request-reply exchanges with the local corosync over shared memory that libcpg waits for without a
 * timeout; mcastJoined and the dispatch never wait.
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

/** cpg_initialize; one process may hold several. */
export class Cpg {
  constructor(listeners: CpgListeners);
  /** cpg_join; CS_ERR_TRY_AGAIN while corosync synchronises a membership change. */
  join(group: string): void;
  leave(group: string): void;
  /** cpg_mcast_joined, agreed order: true when queued, false when flow control says try again later. */
  mcastJoined(message: Buffer): boolean;
  /** cpg_local_get: this node's id. */
  localGet(): number;
  /** cpg_membership_get: the group's current members. */
  membershipGet(group: string): CpgAddress[];
  /** The largest message mcastJoined accepts. */
  maxMessageSize(): number;
  /** The IPC fd being polled; -1 once finalized. */
  fd(): number;
  /** cpg_finalize (leaves every group); idempotent. Methods then throw CS_ERR_BAD_HANDLE. */
  finalize(): void;
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

/** votequorum_initialize. */
export class Votequorum {
  constructor(listeners: VotequorumListeners);
  /** votequorum_getinfo for a node; 0 (the default) is this node. */
  getInfo(nodeId?: number): VotequorumInfo;
  trackStart(): void;
  trackStop(): void;
  fd(): number;
  finalize(): void;
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
