/**
 * The one way a test skips because this machine lacks something (a tool, root, libvirtd, qemu).
 *
 * Locally the reason comes back, for node:test's `skip` option or `t.skip()`, so a developer without
 * the full test bed still runs the rest. Under CI=true the CI machine is meant to have everything
 * (scripts/setup-test-env.sh installs it), so a missing requirement there means tests silently stopped
 * running: it throws instead, which fails the test or the file that asked. Only the reasons on
 * ALLOWED_IN_CI still skip under CI, each because no CI machine can provide it.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Requirements no CI machine of this project meets, with why; the only skips CI tolerates. */
export const ALLOWED_IN_CI: Readonly<Record<string, string>> = {
  // Empty: the one former entry, a connected vsock pair, now runs inside a guest (test/guests/vsock.test.ts).
};

const allowed: readonly string[] = Object.values(ALLOWED_IN_CI);

export class MissingRequirement extends Error {
  override name = 'MissingRequirement';
}

/**
 * undefined when `met`; otherwise the reason to skip, or under CI=true a MissingRequirement thrown
 * unless the reason is one of ALLOWED_IN_CI.
 */
export function skipUnless(met: boolean, reason: string): string | undefined {
  if (met) return undefined;
  if (process.env.CI === 'true' && !allowed.includes(reason)) {
    throw new MissingRequirement(`CI=true and a test requirement is missing, which would skip the test: ${reason}`);
  }
  return reason;
}

/** skipUnless for a requirement already found missing, e.g. a probe that failed: the reason to skip. */
export function skipBecause(reason: string): string {
  return skipUnless(false, reason) as string;
}

const SETUP_HINT = 'run scripts/setup-test-env.sh';

/** Whether an executable exists: an absolute path as given, a bare name on $PATH. */
function executable(tool: string): boolean {
  const candidates = isAbsolute(tool)
    ? [tool]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, tool));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The first of `tools` (absolute paths or names on $PATH) that is not installed, as a skip reason. */
export function needsTools(...tools: string[]): string | undefined {
  const missing = tools.find((tool) => !executable(tool));
  return missing === undefined ? undefined : skipBecause(`${missing} is not installed (${SETUP_HINT})`);
}

/** Root, for what `does` needs it for (mount namespaces, another user's identity). */
export function needsRoot(does: string): string | undefined {
  return skipUnless(process.getuid?.() === 0, `${does} needs root`);
}

/** The shared libvirtd that scripts/setup-test-env.sh starts. */
export function needsSharedLibvirtd(): string | undefined {
  return skipUnless(existsSync('/run/libvirt/libvirt-sock'), `libvirtd is not running (${SETUP_HINT} starts it)`);
}
