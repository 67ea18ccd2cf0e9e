/** The error types the libvirt client raises; callers tell them apart with instanceof. */
import { ErrorCode } from './protocol.js';

/** An error reported by libvirt itself (a reply with status ERROR): the domain is missing, etc. */
export class LibvirtError extends Error {
  override name = 'LibvirtError';

  constructor(
    message: string,
    /** virErrorNumber, e.g. 42 (VIR_ERR_NO_DOMAIN); see ErrorCode in protocol.ts. */
    readonly code: number,
    /** virErrorDomain: the libvirt subsystem that raised it. */
    readonly domain = 0,
    readonly level = 2,
  ) {
    super(message);
  }
}

/** Whether libvirt answered that the domain does not exist (or no longer does: it was undefined meanwhile). */
export function isNoSuchDomain(err: unknown): boolean {
  return err instanceof LibvirtError && err.code === ErrorCode.NoDomain;
}

/** No usable connection: the daemon is down, the socket closed, or the client is closed. */
export class LibvirtConnectionError extends Error {
  override name = 'LibvirtConnectionError';

  constructor(
    message: string,
    readonly uri: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A call got no reply within its timeout. The connection itself may still be fine. */
export class LibvirtTimeoutError extends Error {
  override name = 'LibvirtTimeoutError';

  constructor(
    readonly procedure: number,
    readonly timeoutMs: number,
    readonly uri: string,
  ) {
    super(`libvirt call ${procedure} on '${uri}' got no reply within ${timeoutMs} ms`);
  }
}

/** The peer sent bytes that are not libvirt's protocol (bad length, program, version or payload). */
export class LibvirtProtocolError extends Error {
  override name = 'LibvirtProtocolError';
}

/** The URI names something this client cannot reach (a remote host, ssh, tcp, tls, ...). */
export class UnsupportedUriError extends Error {
  override name = 'UnsupportedUriError';

  constructor(
    readonly uri: string,
    reason: string,
  ) {
    super(`cannot open libvirt URI '${uri}': ${reason}`);
  }
}
