/**
 * The lines `fence_virtd --check` prints: one per check, a verdict, what was found and how to fix it;
 * and the libvirt connections that checks looking at domains are given.
 */
import type { Domain, LibvirtClient } from '../libvirt/index.js';

export type Verdict = 'OK' | 'WARN' | 'FAIL';

export interface CheckLine {
  verdict: Verdict;
  /** What was checked, e.g. `key file /etc/cluster/fence_xvm.key`. */
  subject: string;
  detail: string;
  /** A concrete action (a command or the key to change); given for every WARN and FAIL. */
  fix?: string;
}

export class CheckReport {
  readonly lines: CheckLine[] = [];

  constructor(private readonly print: (line: string) => void = () => undefined) {}

  ok(subject: string, detail: string): void {
    this.add({ verdict: 'OK', subject, detail });
  }

  warn(subject: string, detail: string, fix: string): void {
    this.add({ verdict: 'WARN', subject, detail, fix });
  }

  fail(subject: string, detail: string, fix: string): void {
    this.add({ verdict: 'FAIL', subject, detail, fix });
  }

  get failed(): boolean {
    return this.lines.some((l) => l.verdict === 'FAIL');
  }

  private add(line: CheckLine): void {
    this.lines.push(line);
    this.print(formatCheckLine(line));
  }
}

/** One line per check, even when a detail quotes a multi-line error (libvirt's XML errors are). */
export function formatCheckLine(line: CheckLine): string {
  const detail = line.detail.replace(/\s*\n\s*/g, ' ');
  return `${line.verdict.padEnd(4)} ${line.subject}: ${detail}${line.fix ? ` | fix: ${line.fix}` : ''}`;
}

/** A libvirt connection that answered, kept open for the checks that look at domains. */
export interface LibvirtView {
  uri: string;
  client: LibvirtClient;
  domains: Domain[];
}
