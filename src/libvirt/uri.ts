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
/**
 * Parameters the remote driver consumes itself (matched whatever their case); the daemon never sees them.
 * authfile is read by the client's authentication; the others configure the connection.
 */
const CLIENT_PARAMS = new Set([
  'name',
  'command',
  'socket',
  'auth',
  'sshauth',
  'netcat',
  'keyfile',
  'pkipath',
  'known_hosts',
  'known_hosts_verify',
  'tls_priority',
  'mode',
  'proxy',
  'no_sanity',
  'no_verify',
  'no_tty',
  'authfile',
]);

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

  const params = queryParams(query);
  // As the remote driver: the last of a name counts; the ones the daemon gets are passed on as written.
  const value = (name: string) => params.filter((p) => p.name === name).at(-1)?.value;
  const kept = params.filter((p) => !CLIENT_PARAMS.has(p.name)).map((p) => p.text);
  const openUri = value('name') ?? `${driver}://${path}${kept.length > 0 ? `?${kept.join('&')}` : ''}`;
  const socketPath = value('socket') ?? defaultSocket(driver, path === '/session', env);
  return { uri, socketPath, openUri };
}

interface QueryParam {
  /** Decoded, in lower case (the remote driver compares names ignoring case). */
  name: string;
  value: string;
  /** As written in the URI. */
  text: string;
}

/**
 * A query's parameters as libvirt reads them (virURIParseParams): a parameter ends at the next `&`, or at
 * the next `;` only when no `&` follows; one without `=` has an empty value; one that starts with `=` is
 * dropped.
 */
function queryParams(query: string): QueryParam[] {
  const params: QueryParam[] = [];
  for (let rest = query; rest !== '';) {
    let end = rest.indexOf('&');
    if (end < 0) end = rest.indexOf(';');
    if (end < 0) end = rest.length;
    const text = rest.slice(0, end);
    rest = rest.slice(end + 1);
    const eq = text.indexOf('=');
    if (text === '' || eq === 0) continue;
    const name = unescapeParam(eq < 0 ? text : text.slice(0, eq)).toLowerCase();
    params.push({ name, value: eq < 0 ? '' : unescapeParam(text.slice(eq + 1)), text });
  }
  return params;
}

/**
 * A parameter's name or value, unescaped as libxml2 does for libvirt: each %XX is that byte (read as
 * UTF-8), a `%` without two hex digits stays as written, and `+` is a plus sign, not a space.
 */
function unescapeParam(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replaceAll('%', ''), 'hex').toString('utf8'));
}

/** The modular per-driver daemon's socket where that daemon runs, else the monolithic libvirtd's. */
function defaultSocket(driver: string, session: boolean, env: UriEnvironment): string {
  const dir = session ? join(env.runtimeDir ?? join(env.home, '.cache'), 'libvirt') : SYSTEM_SOCKET_DIR;
  const modular = join(dir, `virt${driver.toLowerCase()}d-sock`);
  return env.exists(modular) ? modular : join(dir, 'libvirt-sock');
}
