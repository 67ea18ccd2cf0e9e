/**
 * The corosync client libraries (libcpg, libvotequorum) through the workspace addon @fence-virtd/cpg,
 * loaded on first use: a daemon whose backend is not cpg never loads it, so it starts on hosts without
 * corosync, and a cpg backend on such a host fails at start-up with an error that says what to install.
 *
 * createRequire resolves the package from this file's location at run time, which works from the source
 * tree and from a tsup bundle alike (esbuild leaves a run-time require alone). An installed daemon needs
 * node_modules/@fence-virtd/cpg/{package.json,index.cjs,build/Release/cpg.node} above the bundle.
 */
import { createRequire } from 'node:module';
import type * as Addon from '@fence-virtd/cpg';

export type CorosyncAddon = typeof Addon;
export type {
  Cpg,
  CpgAddress,
  CpgListeners,
  CorosyncError,
  Votequorum,
  VotequorumInfo,
  VotequorumListeners,
  VotequorumNode,
} from '@fence-virtd/cpg';

export const CPG_ADDON_PACKAGE = '@fence-virtd/cpg';

const INSTALL_HINT =
  'install corosync and its client libraries (Debian: corosync libcpg-dev libvotequorum-dev; ' +
  'Fedora, RHEL: corosync corosynclib-devel), then run npm ci so that the addon is built';

export class CorosyncUnavailableError extends Error {
  readonly code = 'ERR_CPG_UNAVAILABLE';
}

/** The addon failed to load: say whether it was never built or the shared libraries are missing. */
function explain(cause: NodeJS.ErrnoException): string {
  const message = cause.message.split('\n')[0] ?? '';
  const library = /lib(cpg|votequorum|corosync_common)\.so[.\d]*/.exec(message)?.[0];
  if (library) {
    return `the cpg backend needs corosync: ${library} cannot be loaded (${message}); ${INSTALL_HINT}`;
  }
  if (cause.code === 'MODULE_NOT_FOUND') {
    // Installed from the RPMs (rpm/fence-virtd.spec), the addon comes with its own package.
    return (
      `the cpg backend needs corosync: the addon ${CPG_ADDON_PACKAGE} is not built or not installed (${message}); ` +
      `with the RPM packages, install fence-virtd-cpg; from source, ${INSTALL_HINT}`
    );
  }
  return `the cpg backend needs corosync: the addon ${CPG_ADDON_PACKAGE} cannot be loaded (${message}); ${INSTALL_HINT}`;
}

let addon: CorosyncAddon | undefined;

/** The addon; throws CorosyncUnavailableError when it is not built or libcpg/libvotequorum are missing. */
export function loadCorosync(): CorosyncAddon {
  if (!addon) {
    try {
      addon = createRequire(import.meta.url)(CPG_ADDON_PACKAGE) as CorosyncAddon;
    } catch (cause) {
      throw new CorosyncUnavailableError(explain(cause as NodeJS.ErrnoException), { cause });
    }
  }
  return addon;
}

/** A failure reported by corosync (its code is the cs_error_t name), as opposed to a programming error. */
export function isCorosyncError(err: unknown): err is Addon.CorosyncError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && 'csError' in err;
}
