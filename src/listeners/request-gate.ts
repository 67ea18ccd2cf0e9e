import { verifyRequest } from '../auth/request-signature.js';
import type { HashType } from '../protocol/constants.js';
import { ProtocolError } from '../protocol/errors.js';
import { decodeFenceRequest, type FenceRequest } from '../protocol/fence-request.js';
import type { RequestHistory } from '../daemon/request-history.js';
import type { Logger } from '../util/log.js';
import type { KeySource } from './listener.js';

export interface AdmittedRequest {
  request: FenceRequest;
  /** Claim in the listener's history; finish it when the request is done. */
  historyKey: string;
}

/**
 * The checks every fence_req passes before anything else happens (PROTOCOL.md §3.2, §4.1): exact size,
 * signature at least as strong as the minimum, well-formed fields, not a duplicate. Anything else is
 * dropped with a log line naming the sender and the reason, and gets no answer.
 */
export function admitRequest(
  raw: Uint8Array,
  from: string,
  settings: { key: KeySource; minimumHash: HashType },
  history: RequestHistory,
  log: Logger,
): AdmittedRequest | undefined {
  const verdict = verifyRequest(raw, settings.key(), settings.minimumHash);
  if (!verdict.ok) {
    log.warn(`dropping request from ${from}: ${verdict.message}`);
    return undefined;
  }
  let request: FenceRequest;
  try {
    // Unknown codes are authenticated and answered FAIL, as the C daemon does (§1.1).
    request = decodeFenceRequest(raw, { acceptUnknownRequest: true });
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    log.warn(`dropping malformed request from ${from}: ${err.message}`);
    return undefined;
  }
  const historyKey = history.claim(request, from, log);
  return historyKey === undefined ? undefined : { request, historyKey };
}
