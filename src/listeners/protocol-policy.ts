import { ProtocolError } from '../protocol/errors.js';
import { readProtocolOffer, type ProtocolPolicy, type ProtocolVersion } from '../protocol/v2.js';
import type { Logger } from '../util/log.js';

/** A listener's `protocol` and `freshness_window` (docs/security.md#protocol-versions). */
export interface ProtocolSettings {
  protocol: ProtocolPolicy;
  /** How far a version 2 request's timestamp may be from this host's clock, either way. */
  freshnessWindowMs: number;
}

/** The defaults of a listener block without the keys: guests keep time by kvm-clock and NTP. */
export const defaultProtocolSettings: ProtocolSettings = { protocol: 'auto', freshnessWindowMs: 30_000 };

/**
 * The version to speak with a verified request, or undefined when it is dropped (logged): "1" speaks
 * version 1 to everyone (a version 2 agent in "auto" follows), "auto" answers an offer in version 2,
 * "2" refuses requests that do not offer it. A version 2 request older or newer than the freshness
 * window is refused whatever the daemon remembers: a capture replayed later is useless.
 */
export function chooseVersion(
  raw: Uint8Array,
  settings: ProtocolSettings,
  from: string,
  log: Logger,
  now = Date.now(),
): ProtocolVersion | undefined {
  if (settings.protocol === '1') return 1;
  let offer;
  try {
    offer = readProtocolOffer(raw);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    log.warn(`dropping request from ${from}: ${err.message}`);
    return undefined;
  }
  if (offer.version === 1) {
    if (settings.protocol === 'auto') return 1;
    log.warn(`dropping request from ${from}: it speaks protocol version 1 and this listener requires version 2 (protocol = "2")`);
    return undefined;
  }
  const skew = now - offer.timestampMs;
  if (Math.abs(skew) > settings.freshnessWindowMs) {
    log.warn(
      `dropping request from ${from}: its timestamp is ${(skew / 1000).toFixed(1)} s ${skew >= 0 ? 'old' : 'in the future'}, ` +
        `outside the freshness window of ${settings.freshnessWindowMs / 1000} s (a replayed capture, or clocks apart)`,
    );
    return undefined;
  }
  return 2;
}
