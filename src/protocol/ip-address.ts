import { ProtocolError } from './errors.js';

/**
 * Raw network-order address bytes <-> numeric text, as inet_pton/inet_ntop do. The permission map
 * compares this text (docs/protocol.md#requester-identity), so IPv6 is printed in the canonical
 * compressed form.
 */
export function ipv4ToText(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

export function ipv4FromText(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

export function ipv6ToText(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  // IPv4-mapped and -compatible forms print their tail as dotted quad, like glibc's inet_ntop.
  const zeros5 = words.slice(0, 5).every((w) => w === 0);
  if (zeros5 && (words[5] === 0xffff || (words[5] === 0 && ((words[6] as number) !== 0 || (words[7] as number) > 1)))) {
    const tail = ipv4ToText(bytes.subarray(12, 16));
    return words[5] === 0xffff ? `::ffff:${tail}` : `::${tail}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function ipv6FromText(text: string): Uint8Array | undefined {
  let head = text;
  let v4: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    v4 = ipv4FromText(text.slice(lastColon + 1));
    if (!v4) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parse(halves[0] as string);
  const right = halves.length === 2 ? parse(halves[1] as string) : [];
  if (!left || !right) return undefined;
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const words = [...left, ...new Array<number>(missing).fill(0), ...right];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  if (v4) out.set(v4, 12);
  return out;
}

export function addressToBytes(text: string, family: 'ipv4' | 'ipv6'): Uint8Array {
  const bytes = family === 'ipv4' ? ipv4FromText(text) : ipv6FromText(text);
  if (!bytes) throw new ProtocolError('BAD_ADDRESS', `'${text}' is not a numeric ${family} address`);
  return bytes;
}
