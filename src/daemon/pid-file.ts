import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

export class PidFileError extends Error {
  override name = 'PidFileError';
}

/**
 * A pid file that refuses a second instance only while the recorded process is alive and is one of
 * ours (its command line mentions `marker`), so a stale file left by a crash never blocks a restart.
 */
export class PidFile {
  private written = false;

  constructor(
    readonly path: string,
    private readonly marker: string,
  ) {}

  claim(pid = process.pid): void {
    const other = this.livingOwner();
    if (other !== undefined && other !== pid) {
      throw new PidFileError(`another ${this.marker} is running as process ${other} (pid file ${this.path})`);
    }
    try {
      writeFileSync(this.path, String(pid), { mode: 0o644 });
    } catch (err) {
      throw new PidFileError(`cannot write pid file ${this.path}: ${(err as Error).message}`);
    }
    this.written = true;
  }

  private livingOwner(): number | undefined {
    let pid: number;
    try {
      pid = Number.parseInt(readFileSync(this.path, 'utf8').trim(), 10);
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.includes(this.marker) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  release(): void {
    if (!this.written) return;
    this.written = false;
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone: nothing to clean up.
    }
  }
}

/** The replay journal of the daemon that owns `pidFile`: beside it, `.pid` replaced by `.replay`. */
export function replayJournalBeside(pidFile: string): string {
  return `${pidFile.replace(/\.pid$/, '')}.replay`;
}
