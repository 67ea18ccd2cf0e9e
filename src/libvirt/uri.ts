/**
 * Maps a libvirt URI to the local unix socket to dial and the URI to send in CONNECT_OPEN, the way
 * libvirt's remote driver does for local connections. Anything that needs a network transport or a
 * remote host is refused with UnsupportedUriError (this client only speaks to local daemons).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UnsupportedUriError } from './errors.js';

export interface ResolvedUri {
  /** The URI as configured. */
  uri: string;
  /** The unix socket to connect to. */
  socketPath: string;
  /** What to send in CONNECT_OPEN: the URI without the transport and the client-side parameters. */
  openUri: string;
}

export interface UriEnvironment {
  exists(path: string): boolean;
  /** $XDG_RUNTIME_DIR, for session URIs. */
  runtimeDir: string | undefined;
  home: string;
}

const defaultEnvironment = (): UriEnvironment => ({
  exists: existsSync,
  runtimeDir: process.env.XDG_RUNTIME_DIR,
  // Asked only for a session URI: without $HOME (a system service's case) it looks the user up.
  get home() {
    return homedir();
  },
});

const SYSTEM_SOCKET_DIR = '/run/libvirt';
/** Parameters the remote driver consumes itself; the daemon never sees them. */
const CLIENT_PARAMS = new Set(['socket', 'mode', 'name', 'no_verify', 'no_tty', 'proxy']);

export function resolveUri(uri: string, env: UriEnvironment = defaultEnvironment()): ResolvedUri {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new UnsupportedUriError(uri, 'not a valid URI');
  }
  const [driver = '', transport, ...extra] = parsed.protocol.slice(0, -1).split('+');
  if (!/^[a-z][a-z0-9]*$/i.test(driver) || extra.length > 0) throw new UnsupportedUriError(uri, 'malformed scheme');
  if (transport !== undefined && transport !== 'unix') {
    throw new UnsupportedUriError(uri, `transport '${transport}' is not supported, only local unix sockets`);
  }
  if (parsed.host !== '') {
    throw new UnsupportedUriError(uri, `remote host '${parsed.host}' is not supported, only local unix sockets`);
  }

  const socketParam = parsed.searchParams.get('socket');
  const nameParam = parsed.searchParams.get('name');
  const kept = [...parsed.searchParams].filter(([k]) => !CLIENT_PARAMS.has(k));
  const query = kept.length > 0 ? `?${new URLSearchParams(kept).toString()}` : '';
  const openUri = nameParam ?? `${driver}://${parsed.pathname}${query}`;

  const socketPath = socketParam ?? defaultSocket(driver, parsed.pathname === '/session', env);
  return { uri, socketPath, openUri };
}

/** The modular per-driver daemon's socket where that daemon runs, else the monolithic libvirtd's. */
function defaultSocket(driver: string, session: boolean, env: UriEnvironment): string {
  const dir = session ? join(env.runtimeDir ?? join(env.home, '.cache'), 'libvirt') : SYSTEM_SOCKET_DIR;
  const modular = join(dir, `virt${driver.toLowerCase()}d-sock`);
  return env.exists(modular) ? modular : join(dir, 'libvirt-sock');
}
