/**
 * Maps a libvirt URI to the local unix socket to dial and the URI to send in CONNECT_OPEN, the way
 * libvirt's remote driver does for local connections. Anything that needs a network transport or a
 * remote host is refused with UnsupportedUriError (this client only speaks to local daemons).
 */
import { existsSync } from 'node:fs';
import type * as Os from 'node:os';
import { join } from 'node:path';
import { loadBuiltin } from '../util/lazy-builtins.js';
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
  // Asked only for a session URI: without $HOME (a system service's case) it looks the user up. node:os
  // is loaded then, not at every start.
  get home() {
    return (loadBuiltin('node:os') as typeof Os).homedir();
  },
});

const SYSTEM_SOCKET_DIR = '/run/libvirt';
/** Parameters the remote driver consumes itself; the daemon never sees them. */
const CLIENT_PARAMS = new Set(['socket', 'mode', 'name', 'no_verify', 'no_tty', 'proxy']);

/**
 * A URI's scheme, authority, path and query, split as RFC 3986 (appendix B) splits them, with a scheme
 * required. Not WHATWG URL: its first use at a start costs about 1 ms of CPU here, and a libvirt URI
 * needs only these parts.
 */
const URI_PARTS = /^([A-Za-z][A-Za-z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#.*)?$/;

export function resolveUri(uri: string, env: UriEnvironment = defaultEnvironment()): ResolvedUri {
  const parts = URI_PARTS.exec(uri);
  if (!parts) throw new UnsupportedUriError(uri, 'not a valid URI');
  const [, scheme = '', authority = '', path = '', query = ''] = parts;
  const [driver = '', transport, ...extra] = scheme.toLowerCase().split('+');
  if (!/^[a-z][a-z0-9]*$/.test(driver) || extra.length > 0) throw new UnsupportedUriError(uri, 'malformed scheme');
  if (transport !== undefined && transport !== 'unix') {
    throw new UnsupportedUriError(uri, `transport '${transport}' is not supported, only local unix sockets`);
  }
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  if (host !== '') throw new UnsupportedUriError(uri, `remote host '${host}' is not supported, only local unix sockets`);

  // Parameters as libvirt splits them (on & or ;); the ones the daemon gets are passed on as written.
  const params = query.split(/[&;]/).filter((p) => p !== '');
  const value = (name: string) => {
    const param = params.find((p) => paramName(p) === name);
    return param === undefined ? undefined : decodeParam(param.slice(param.indexOf('=') + 1 || param.length));
  };
  const kept = params.filter((p) => !CLIENT_PARAMS.has(paramName(p)));
  const openUri = value('name') ?? `${driver}://${path}${kept.length > 0 ? `?${kept.join('&')}` : ''}`;
  const socketPath = value('socket') ?? defaultSocket(driver, path === '/session', env);
  return { uri, socketPath, openUri };
}

function paramName(param: string): string {
  const eq = param.indexOf('=');
  return decodeParam(eq < 0 ? param : param.slice(0, eq));
}

/** A query parameter's name or value: `+` is a space, %XX a byte (left as written where malformed). */
function decodeParam(text: string): string {
  const spaced = text.replaceAll('+', ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** The modular per-driver daemon's socket where that daemon runs, else the monolithic libvirtd's. */
function defaultSocket(driver: string, session: boolean, env: UriEnvironment): string {
  const dir = session ? join(env.runtimeDir ?? join(env.home, '.cache'), 'libvirt') : SYSTEM_SOCKET_DIR;
  const modular = join(dir, `virt${driver.toLowerCase()}d-sock`);
  return env.exists(modular) ? modular : join(dir, 'libvirt-sock');
}
