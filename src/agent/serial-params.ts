/**
 * `-P speed,DPS` (serial_params) as the C agent reads it: speed one of the listed rates (empty means
 * 9600), then three characters among data bits 5-8, parity N/E/O and stop bits 1/2 (empty means 8N1).
 */
export interface SerialSettings {
  baudRate: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
}

export type SerialParamsResult =
  | { ok: true; settings: SerialSettings }
  /** `badChar`: the framing character the C agent complains about on stdout ("Fail: X"). */
  | { ok: false; reason: string; badChar?: string };

/** Compared as text, like the C agent's strcmp(): "09600" is not a speed. */
const SPEEDS = ['2400', '9600', '19200', '38400', '57600', '115200'];

export function parseSerialParams(text: string): SerialParamsResult {
  const comma = text.indexOf(',');
  const speedText = comma === -1 ? text : text.slice(0, comma);
  const framing = comma === -1 ? '' : text.slice(comma + 1);
  if (speedText !== '' && !SPEEDS.includes(speedText)) {
    return { ok: false, reason: `unsupported speed '${speedText}' (use ${SPEEDS.join(', ')})` };
  }
  const baudRate = speedText === '' ? 9600 : Number(speedText);
  const settings: SerialSettings = { baudRate, dataBits: 8, parity: 'none', stopBits: 1 };
  if (framing === '') return { ok: true, settings };
  if (framing.length < 3) return { ok: false, reason: `framing '${framing}' needs three characters, e.g. 8N1` };
  for (const c of framing.slice(0, 3)) {
    if ('5678'.includes(c)) settings.dataBits = Number(c) as SerialSettings['dataBits'];
    else if ('nN'.includes(c)) settings.parity = 'none';
    else if ('eE'.includes(c)) settings.parity = 'even';
    else if ('oO'.includes(c)) settings.parity = 'odd';
    else if (c === '1' || c === '2') settings.stopBits = Number(c) as SerialSettings['stopBits'];
    else return { ok: false, reason: `framing character '${c}' is none of 5-8, N/E/O, 1/2`, badChar: c };
  }
  return { ok: true, settings };
}
