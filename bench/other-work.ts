/**
 * Whether a benchmark run had the machine to itself: the CPU that processes outside the run used while
 * it ran. The 1-minute load average read after a run counts the run's own last minute (both daemons,
 * the agents, libvirtd serving them), so it cannot tell a quiet machine from a busy one. This counts
 * the machine's CPU over the run (/proc/stat) less what the run used: this process and the children it
 * waited for (daemons, agents and their own children), and libvirtd and virtlogd, which serve only the
 * run's daemons here.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { procStatFields } from '../test/support/processes.js';
import { cpuMs, machineCpuMs, ticksToMs } from './sides.js';

/** The services the run's daemons use, by the pid files scripts/setup-test-env.sh starts them with. */
const SERVICE_PID_FILES = ['/run/libvirtd.pid', '/run/virtlogd.pid'];
/** Other work up to this share of the machine's CPU over the run still counts as quiet. */
export const QUIET_SHARE = 0.05;

/**
 * CPU ms of this process and of the children it waited for (/proc/self/stat fields 14 to 17, counted
 * here from the state field, 3): a child's CPU is counted there once it is reaped.
 */
function runTreeCpuMs(): number {
  const f = procStatFields(process.pid).map(Number);
  return ticksToMs(f[11]! + f[12]! + f[13]! + f[14]!);
}

/** CPU ms of the services, by their pid files; a service not running counts nothing. */
function servicesCpuMs(): number {
  let ms = 0;
  for (const file of SERVICE_PID_FILES) {
    try {
      ms += cpuMs(Number(readFileSync(file, 'utf8').trim()));
    } catch {
      // Not running: nothing of it to subtract.
    }
  }
  return ms;
}

function ownCpuMs(): number {
  return runTreeCpuMs() + servicesCpuMs();
}

export class OtherWork {
  private readonly machine0 = machineCpuMs();
  private readonly own0 = ownCpuMs();
  private readonly t0 = performance.now();

  /** The share of the machine's CPU (all cores, over the run so far) that processes outside the run used. */
  share(): number {
    const other = machineCpuMs() - this.machine0 - (ownCpuMs() - this.own0);
    return Math.max(0, other) / ((performance.now() - this.t0) * cpus().length);
  }
}
