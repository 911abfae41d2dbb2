// Port entries: `tcp/22`, `udp/1000-2000`, `sctp/5000`, `icmp`, `icmpv6`.

import { notAscii, trimAscii } from './address.js';
import type { Protocol } from './types.js';

export const PROTOCOL_NUMBERS: Readonly<Record<Protocol, number>> = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  icmpv6: 58,
  sctp: 132,
};

const PORTED = new Set<string>(['tcp', 'udp', 'sctp']);
const PORTLESS = new Set<string>(['icmp', 'icmpv6']);

export type PortResult =
  | { readonly ok: true; readonly protocol: Protocol; readonly from: number; readonly to: number }
  | { readonly ok: false; readonly code: 'SMC030' | 'SMC031' | 'SMC032' | 'SMC033' | 'SMC034' | 'SMC096' | 'SMC098'; readonly message: string };

export function parsePortEntry(text: string): PortResult {
  const foreign = notAscii(text.replace(/\t/g, ' '));
  if (foreign) return { ok: false, code: 'SMC030', message: `"${text}": ${foreign} is not part of a port entry (only ASCII spaces and tabs may surround one)` };
  const slash = text.indexOf('/');
  const protocol = trimAscii(slash < 0 ? text : text.slice(0, slash));
  const portText = slash < 0 ? undefined : trimAscii(text.slice(slash + 1));
  // One way to write each: `TCP/22` is refused rather than read as tcp/22 (nft and CIL spell them in lower case).
  const lower = protocol.toLowerCase();
  if (lower !== protocol && (PORTED.has(lower) || PORTLESS.has(lower))) {
    return { ok: false, code: 'SMC098', message: `"${text}": protocol ${protocol} is not in lower case; write ${lower}` };
  }

  if (PORTLESS.has(protocol)) {
    if (portText !== undefined) return { ok: false, code: 'SMC034', message: `"${text}": ${protocol} has no ports; write just "${protocol}"` };
    return { ok: true, protocol: protocol as Protocol, from: 0, to: 65535 };
  }
  if (!PORTED.has(protocol)) {
    return { ok: false, code: 'SMC033', message: `"${text}": unknown protocol "${protocol}" (expected tcp, udp, sctp, icmp or icmpv6)` };
  }
  if (portText === undefined || portText === '') {
    return { ok: false, code: 'SMC030', message: `"${text}": expected ${protocol}/PORT or ${protocol}/FIRST-LAST` };
  }
  const match = /^(\d{1,6})(?:-(\d{1,6}))?$/.exec(portText);
  if (!match) return { ok: false, code: 'SMC030', message: `"${text}": expected ${protocol}/PORT or ${protocol}/FIRST-LAST` };
  // `010` would be 10 here, but 8 to a reader (or a YAML 1.1 tool) that takes a leading zero for octal.
  for (const digits of [match[1]!, match[2]]) {
    if (digits !== undefined && digits.length > 1 && digits.startsWith('0')) {
      return { ok: false, code: 'SMC096', message: `"${text}": port ${digits} has a leading zero; write ${Number(digits)}` };
    }
  }
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  for (const port of [from, to]) {
    if (port < 1 || port > 65535) return { ok: false, code: 'SMC031', message: `"${text}": port ${port} is out of range 1-65535` };
  }
  if (from > to) return { ok: false, code: 'SMC032', message: `"${text}": range is reversed (${from} > ${to})` };
  return { ok: true, protocol: protocol as Protocol, from, to };
}

/** Which address family a protocol is confined to, if any. */
export function protocolFamily(protocol: Protocol): 'ipv4' | 'ipv6' | undefined {
  if (protocol === 'icmp') return 'ipv4';
  if (protocol === 'icmpv6') return 'ipv6';
  return undefined;
}
