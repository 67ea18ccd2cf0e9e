import type { CheckReport } from '../../module-kit/check-report.js';
import type { CpgBackendConfig } from './config.js';
import { loadCorosync, type CorosyncAddon, type CpgAddress, type VotequorumNode } from './corosync.js';
import { CorosyncTimeoutError, withDeadline } from './group.js';
import { CPG_GROUP } from './messages.js';

const SUBJECT = 'backend cpg (corosync)';
const GROUP_SUBJECT = `backend cpg (process group ${CPG_GROUP})`;
/** Each call into corosync; a stopped corosync fails the check instead of hanging it. */
const CALL_TIMEOUT_MS = 5_000;

const call = <T>(promise: Promise<T>, what: string): Promise<T> => withDeadline(promise, what, CALL_TIMEOUT_MS);
const noop = (): void => undefined;
const nodeList = (nodes: number[]): string => `node${nodes.length > 1 ? 's' : ''} ${nodes.join(', ')}`;

/**
 * `--check` for the cpg backend: the corosync libraries load, this host's corosync answers, its
 * partition is quorate (the backend refuses to fence without quorum), and who is in the process group:
 * every cluster member should run a daemon there, one per node. The group is looked at without joining
 * it: a check that joined would show up as a member to every running fence_virtd.
 */
export async function checkCpg(_config: CpgBackendConfig, report: CheckReport): Promise<void> {
  let addon;
  try {
    addon = loadCorosync();
  } catch (err) {
    report.fail(SUBJECT, (err as Error).message, 'install corosync and its client libraries, or use backend = "libvirt"');
    return;
  }
  const cluster = await checkQuorum(addon, report);
  if (cluster) await checkGroup(addon, cluster.self, cluster.members, report);
}

/** The quorum line; answers this node's id and the nodes votequorum counts as members, or undefined when corosync does not answer. */
async function checkQuorum(addon: CorosyncAddon, report: CheckReport): Promise<{ self: number; members: number[] } | undefined> {
  let resolveNodes: (nodes: VotequorumNode[]) => void = noop;
  const nodes = new Promise<VotequorumNode[]>((resolve) => (resolveNodes = resolve));
  const quorum = new addon.Votequorum({ quorum: (_quorate, list) => resolveNodes(list), error: noop });
  try {
    await call(quorum.connect(), 'votequorum_initialize');
    const info = await call(quorum.getInfo(), 'votequorum_getinfo');
    await call(quorum.trackStart(), 'votequorum_trackstart');
    const members = (await call(nodes, 'the quorum notification'))
      .filter((n) => n.state === addon.constants.VOTEQUORUM_NODESTATE_MEMBER)
      .map((n) => n.nodeId)
      .sort((a, b) => a - b);
    const votes = `${info.totalVotes} of ${info.expectedVotes} votes`;
    if (info.quorate) {
      report.ok(SUBJECT, `corosync answers; node ${info.nodeId} is in a quorate partition (${votes}; members: ${nodeList(members)})`);
    } else {
      report.fail(
        SUBJECT,
        `node ${info.nodeId} is in a partition without quorum (${votes}): the cpg backend refuses every fencing request`,
        'bring the other hosts back or fix the cluster network (corosync-quorumtool -s)',
      );
    }
    return { self: info.nodeId, members };
  } catch (err) {
    report.fail(SUBJECT, `corosync does not answer: ${(err as Error).message}`, 'start corosync on this host (systemctl start corosync)');
    return undefined;
  } finally {
    void quorum.finalize();
  }
}

/**
 * What to do when the group cannot be looked at, by cause: corosync answered the quorum line just
 * before, so a refusal is most likely this user's permission, while no answer is a corosync stopped or
 * hung meanwhile.
 */
export function groupFailureFix(err: unknown): string {
  if (err instanceof CorosyncTimeoutError) {
    return 'see whether corosync is stopped or hung (systemctl status corosync, corosync-cfgtool -s) and run the check again';
  }
  if ((err as { code?: unknown }).code === 'CS_ERR_LIBRARY')
    return 'corosync went away during the check: start corosync on this host (systemctl start corosync)';
  return 'run fence_virtd as root, or allow its user in corosync.conf (uidgid { uid: ... }) and reload corosync';
}

/** The group line: which nodes have a daemon in the group, and which cluster members have none. */
async function checkGroup(addon: CorosyncAddon, self: number, clusterMembers: number[], report: CheckReport): Promise<void> {
  const cpg = new addon.Cpg({ deliver: noop, confchg: noop, error: noop });
  let members: CpgAddress[];
  try {
    await call(cpg.connect(), 'cpg_initialize');
    members = await call(cpg.groupMembers(CPG_GROUP), 'cpg_iteration');
  } catch (err) {
    report.fail(GROUP_SUBJECT, `cannot look at the group: ${(err as Error).message}`, groupFailureFix(err));
    return;
  } finally {
    void cpg.finalize();
  }
  const byNode = new Map<number, number[]>();
  for (const m of members) byNode.set(m.nodeId, [...(byNode.get(m.nodeId) ?? []), m.pid]);
  const seen = [...byNode].sort(([a], [b]) => a - b).map(([node, pids]) => `node ${node} (pid ${pids.sort((a, b) => a - b).join(', ')})`);
  const found = seen.length > 0 ? `members: ${seen.join(', ')}` : 'no members';
  const without = clusterMembers.filter((node) => !byNode.has(node));
  const crowded = [...byNode].filter(([, pids]) => pids.length > 1).map(([node]) => node);
  if (crowded.length > 0) {
    report.warn(
      GROUP_SUBJECT,
      `${found}: ${nodeList(crowded)} ${crowded.length > 1 ? 'have' : 'has'} more than one process in the group, and each answers for that node's VMs`,
      `run one fence_virtd per host: stop the extra processes on ${nodeList(crowded)} (corosync-cpgtool lists them)`,
    );
  } else if (without.length > 0) {
    const here = without.includes(self) ? ` (this host, node ${self}, included)` : '';
    report.warn(
      GROUP_SUBJECT,
      `${found}; ${nodeList(without)}${here} ${without.length > 1 ? 'are' : 'is'} in the cluster without a fence_virtd in the group: ` +
        'requests for VMs there fail, and those hosts cannot forward requests',
      `start fence_virtd with backend = "cpg" on ${nodeList(without)} (systemctl start fence_virtd)`,
    );
  } else {
    report.ok(GROUP_SUBJECT, `${found}: every cluster member has its daemon in the group`);
  }
}
