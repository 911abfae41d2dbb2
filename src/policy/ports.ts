// Port entries: `tcp/22`, `udp/1000-2000`, `sctp/5000`, `icmp`, `icmpv6`. Common near misses
// (`3128/tcp`, `https`, `tcp:443`, `tcp/1000:2000`) are refused with the spelling to use.

import { notAscii, trimAscii } from './address.js';
import { describeServicePorts, servicePorts } from './services.js';
import { didYouMean } from './did-you-mean.js';
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
  const near = nearMiss(trimAscii(text.replace(/\t/g, ' ')), text);
  if (near) return near;
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
    return { ok: false, code: 'SMC033', message: `"${text}": unknown protocol "${protocol}" (expected tcp, udp, sctp, icmp or icmpv6)${didYouMean(protocol, [...PORTED, ...PORTLESS])}` };
  }
  if (portText === undefined || portText === '') {
    return { ok: false, code: 'SMC030', message: `"${text}": expected ${protocol}/PORT or ${protocol}/FIRST-LAST (every port: ${protocol}/1-65535)` };
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

type PortError = Extract<PortResult, { ok: false }>;

/** Protocol spellings of other tools (ss, iptables, ping) and what the policy calls them. */
const PROTOCOL_ALIASES: Readonly<Record<string, { readonly write: string; readonly why: string }>> = {
  tcp4: { write: 'tcp', why: 'one entry covers IPv4 and IPv6' },
  tcp6: { write: 'tcp', why: 'one entry covers IPv4 and IPv6' },
  udp4: { write: 'udp', why: 'one entry covers IPv4 and IPv6' },
  udp6: { write: 'udp', why: 'one entry covers IPv4 and IPv6' },
  icmp4: { write: 'icmp', why: 'ICMP for IPv4' },
  icmpv4: { write: 'icmp', why: 'ICMP for IPv4' },
  icmp6: { write: 'icmpv6', why: 'ICMP for IPv6' },
  'ipv6-icmp': { write: 'icmpv6', why: 'ICMP for IPv6' },
  'icmp-v6': { write: 'icmpv6', why: 'ICMP for IPv6' },
  ping: { write: 'icmp', why: 'echo requests; icmpv6 for IPv6' },
};

function aliasOf(protocol: string): { readonly write: string; readonly why: string } | undefined {
  return Object.hasOwn(PROTOCOL_ALIASES, protocol) ? PROTOCOL_ALIASES[protocol] : undefined;
}

const PORTS_PART = String.raw`(\d{1,6}(?:-\d{1,6})?)`;

/**
 * The entries people write for a port in the notation of another tool, each with the spelling to
 * use. Only shapes that are never valid are matched, so a valid entry never reaches a hint.
 */
function nearMiss(entry: string, text: string): PortError | undefined {
  const lower = entry.toLowerCase();
  const write = (spelling: string, why: string): PortError => ({ ok: false, code: 'SMC030', message: `"${text}": ${why}; write ${spelling}` });
  // `3128/tcp`, `1000-2000/udp`: the order of `ss`, /etc/services and `explain --connect`.
  let m = new RegExp(`^${PORTS_PART}\\s*/\\s*([a-z][a-z0-9-]*)$`).exec(lower);
  if (m && (PORTED.has(m[2]!) || aliasOf(m[2]!))) {
    const protocol = PORTED.has(m[2]!) ? m[2]! : aliasOf(m[2]!)!.write;
    return write(`${protocol}/${m[1]}`, 'the protocol comes first in a port entry');
  }
  // `tcp:443`, `tcp 443`, `tcp-443`, `443:tcp`, `443 tcp`.
  m = new RegExp(`^([a-z][a-z0-9]*)\\s*(?::|\\s|-|_|\\.)\\s*${PORTS_PART}$`).exec(lower) ?? swap(new RegExp(`^${PORTS_PART}\\s*(?::|\\s|-)\\s*([a-z][a-z0-9]*)$`).exec(lower));
  if (m && PORTED.has(m[1]!)) return write(`${m[1]}/${m[2]}`, 'protocol and port are separated by "/"');
  // `tcp/1000:2000` (iptables' range), `tcp/80,443` (a list in one entry), `tcp/*`.
  const slash = lower.indexOf('/');
  const protocol = slash < 0 ? lower : trimAscii(lower.slice(0, slash));
  const port = slash < 0 ? undefined : trimAscii(lower.slice(slash + 1));
  const alias = aliasOf(protocol);
  if (alias) {
    const spelling = port === undefined || alias.write.startsWith('icmp') ? alias.write : `${alias.write}/${port}`;
    return { ok: false, code: 'SMC033', message: `"${text}": unknown protocol "${entry.slice(0, slash < 0 ? undefined : slash).trim()}"; write ${spelling} (${alias.why})` };
  }
  if (PORTED.has(protocol) && port !== undefined) {
    m = /^(\d{1,6})\s*:\s*(\d{1,6})$/.exec(port);
    if (m) return write(`${protocol}/${m[1]}-${m[2]}`, 'a port range is written with "-"');
    const list = port.split(/\s*,\s*/);
    if (list.length > 1 && list.every((p) => new RegExp(`^${PORTS_PART}$`).test(p))) {
      return write(list.map((p) => `${protocol}/${p}`).join(', '), 'one port or range per entry');
    }
    if (['*', 'any', 'all'].includes(port)) return write(`${protocol}/1-65535`, 'every port is a range');
    const service = servicePorts(port);
    if (service) {
      const mine = service.filter((e) => e.startsWith(`${protocol}/`));
      return write(describeServicePorts(mine.length > 0 ? mine : service), `"${port}" is a service name, not a port`);
    }
  }
  // `https`, `https/tcp`: a service name where a port entry belongs.
  const name = slash < 0 ? lower : protocol;
  const service = servicePorts(name);
  if (service && !PORTED.has(name) && !PORTLESS.has(name)) {
    const wanted = slash < 0 ? undefined : port;
    const mine = wanted !== undefined && PORTED.has(wanted) ? service.filter((e) => e.startsWith(`${wanted}/`)) : [];
    const what = slash < 0 ? 'a service name' : `"${entry.slice(0, slash).trim()}" is a service name`;
    return write(describeServicePorts(mine.length > 0 ? mine : service), `${what}, not a port entry`);
  }
  // `443`, `1000-2000`: a port without its protocol.
  m = new RegExp(`^${PORTS_PART}$`).exec(lower);
  if (m) return write(`tcp/${m[1]} or udp/${m[1]}`, 'a port needs its protocol');
  return undefined;
}

/** `443:tcp` matched as (port, protocol): the same groups as `tcp:443`. */
function swap(m: RegExpExecArray | null): RegExpExecArray | null {
  if (!m) return null;
  const port = m[1]!;
  m[1] = m[2]!;
  m[2] = port;
  return m;
}

/** Which address family a protocol is confined to, if any. */
export function protocolFamily(protocol: Protocol): 'ipv4' | 'ipv6' | undefined {
  if (protocol === 'icmp') return 'ipv4';
  if (protocol === 'icmpv6') return 'ipv6';
  return undefined;
}
