import type { CheckReport } from '../../module-kit/check-report.js';
import type { CpgBackendConfig } from './config.js';
import { loadCorosync } from './corosync.js';

const SUBJECT = 'backend cpg (corosync)';

/**
 * `--check` for the cpg backend: the corosync libraries load, this host's corosync answers, and its
 * partition is quorate (the backend refuses to fence without quorum). Joining the process group is left
 * to the daemon: a check that joined would show up as a member to every running fence_virtd.
 */
export async function checkCpg(_config: CpgBackendConfig, report: CheckReport): Promise<void> {
  let addon;
  try {
    addon = loadCorosync();
  } catch (err) {
    report.fail(SUBJECT, (err as Error).message, 'install corosync and its client libraries, or use backend = "libvirt"');
    return;
  }
  let quorum;
  try {
    quorum = new addon.Votequorum({ quorum: () => undefined, error: () => undefined });
    const info = quorum.getInfo();
    if (info.quorate) {
      report.ok(
        SUBJECT,
        `corosync answers; node ${info.nodeId} is in a quorate partition (${info.totalVotes} of ${info.expectedVotes} votes)`,
      );
    } else {
      report.fail(
        SUBJECT,
        `node ${info.nodeId} is in a partition without quorum (${info.totalVotes} of ${info.expectedVotes} votes): the cpg backend refuses every fencing request`,
        'bring the other hosts back or fix the cluster network (corosync-quorumtool -s)',
      );
    }
  } catch (err) {
    report.fail(SUBJECT, `corosync does not answer: ${(err as Error).message}`, 'start corosync on this host (systemctl start corosync)');
  } finally {
    quorum?.finalize();
  }
}
