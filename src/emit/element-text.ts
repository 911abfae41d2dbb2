// Text of map key parts as nft prints them: the one home of element text, shared by the nft text
// and JSON emitters, kernel error descriptions (netlink/describe.ts) and status drift
// (apply/element-set.ts). (Applied-policy records keep their own row format: storage, not text.)

import { bytesToBigint, formatAddress } from '../policy/address.js';
import type { AddrPart, KeyPart } from '../compile/ir.js';

/** inet_proto names as nft prints them (from /etc/protocols). */
export const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp', 132: 'sctp' };

export function protocolName(value: number): string {
  return PROTOCOL_NAMES[value] ?? String(value);
}

export type AddrText = { kind: 'single'; addr: string } | { kind: 'prefix'; addr: string; length: number } | { kind: 'range'; from: string; to: string };

/** Address parts are shared between elements (one per peer), so their text is computed once. */
const textCache = new WeakMap<AddrPart, AddrText>();

export function addrText(part: AddrPart): AddrText {
  let text = textCache.get(part);
  if (!text) {
    text = computeAddrText(part);
    textCache.set(part, text);
  }
  return text;
}

function computeAddrText(part: AddrPart): AddrText {
  const start = formatAddress(part.family, bytesToBigint(part.start));
  const full = part.family === 'ipv4' ? 32 : 128;
  if (part.prefixLength === full) return { kind: 'single', addr: start };
  if (part.prefixLength !== undefined) return { kind: 'prefix', addr: start, length: part.prefixLength };
  return { kind: 'range', from: start, to: formatAddress(part.family, bytesToBigint(part.end)) };
}

/** A key part as nft prints it: `192.0.2.0/24`, `tcp`, `1000-2000`. */
export function keyPartText(part: KeyPart): string {
  switch (part.kind) {
    case 'addr': {
      const a = addrText(part);
      return a.kind === 'single' ? a.addr : a.kind === 'prefix' ? `${a.addr}/${a.length}` : `${a.from}-${a.to}`;
    }
    case 'proto':
      return protocolName(part.value);
    case 'port':
      return part.from === part.to ? String(part.from) : `${part.from}-${part.to}`;
  }
}

/** A concatenated key as nft prints it: `192.0.2.10 . tcp . 3128`. */
export function keyText(parts: readonly KeyPart[]): string {
  return parts.map(keyPartText).join(' . ');
}
