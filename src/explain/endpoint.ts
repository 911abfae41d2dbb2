// `192.0.2.10:443/tcp`, `[2001:db8::1]:443/tcp`: the peer of `explain --connect` / `--accept`.
// Near misses (no protocol, the policy's `tcp/443` order, a service name, IPv6 without brackets)
// are refused with the spelling to use.

import { parseAddress } from '../policy/address.js';
import { servicePorts } from '../policy/services.js';
import { PORT_PROTOCOL_NUMBERS, PORT_PROTOCOLS, type PortProtocol } from '../port-labels/port-table.js';

export interface Endpoint {
  readonly family: 'ipv4' | 'ipv6';
  readonly address: bigint;
  readonly port: number;
  readonly protocol: PortProtocol;
  readonly proto: number;
  readonly text: string;
}

const EXPECTED = 'expected ADDRESS:PORT/PROTO, e.g. 192.0.2.10:443/tcp or [2001:db8::1]:443/tcp';

export function parseEndpoint(text: string): Endpoint | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]/]+)):(\d{1,5})\/([a-z]+)$/.exec(text.trim());
  if (!m) return `"${text}": ${nearMiss(text.trim()) ?? EXPECTED}`;
  const addressText = (m[1] ?? m[2]) as string;
  const port = Number(m[3]);
  const protocol = m[4] as string;
  if (!(PORT_PROTOCOLS as readonly string[]).includes(protocol)) return `"${text}": protocol must be one of ${PORT_PROTOCOLS.join(', ')}`;
  if (port < 1 || port > 65535) return `"${text}": port ${port} is out of range 1-65535`;
  const parsed = parseAddress(addressText);
  if (!parsed.ok || parsed.range.start !== parsed.range.end) return `"${text}": "${addressText}" is not a single IPv4 or IPv6 address`;
  if (m[2] !== undefined && parsed.range.family === 'ipv6') return `"${text}": write IPv6 addresses in brackets, e.g. [2001:db8::1]:443/tcp`;
  return { family: parsed.range.family, address: parsed.range.start, port, protocol: protocol as PortProtocol, proto: PORT_PROTOCOL_NUMBERS[protocol as PortProtocol], text };
}

/** What the user probably meant, as "write ..." (the spelling of the policy's port entries is the usual slip). */
function nearMiss(text: string): string | undefined {
  const split = /^(?:\[([^\]]+)\]|(.+?)):([^:\]]+)$/.exec(text);
  const lower = text.toLowerCase();
  if (lower !== text && /^(?:\[[^\]]+\]|[^:[\]/]+):\d{1,5}\/[a-z]+$/.test(lower)) return `protocols are lower case; write ${lower}`;
  if (!split) {
    const bare = /^(?:(\d{1,5})\/([a-z]+)|([a-z]+)\/(\d{1,5}))$/.exec(lower);
    if (bare) return `the peer's address is missing; write ADDRESS:${bare[1] ?? bare[4]}/${bare[2] ?? bare[3]}, e.g. 192.0.2.10:${bare[1] ?? bare[4]}/${bare[2] ?? bare[3]}`;
    return undefined;
  }
  const bracketed = split[1] !== undefined;
  const address = (split[1] ?? split[2]) as string;
  const port = (split[3] as string).toLowerCase();
  // `2001:db8::1:443/tcp`: an IPv6 address without brackets; the port is what follows the last colon.
  const unbracketed = !bracketed && address.includes(':');
  const host = bracketed || unbracketed ? `[${address}]` : address;
  const write = (portPart: string, why: string): string => `${why}; write ${host}:${portPart}`;
  let m = /^(\d{1,5})\/([a-z]+)$/.exec(port);
  if (m && unbracketed) return write(`${m[1]}/${m[2]}`, 'an IPv6 address goes in brackets');
  m = /^(\d{1,5})$/.exec(port);
  if (m) return write(`${m[1]}/tcp`, `the protocol is missing (${port}/tcp, ${port}/udp, ...)`);
  m = /^([a-z]+)\/(\d{1,5})$/.exec(port);
  if (m && (PORT_PROTOCOLS as readonly string[]).includes(m[1]!)) return write(`${m[2]}/${m[1]}`, 'here the port comes first (PORT/PROTO)');
  m = /^([a-z][a-z0-9-]*)(?:\/([a-z]+))?$/.exec(port);
  const service = m ? servicePorts(m[1]!) : undefined;
  if (m && service) {
    const wanted = m[2] === undefined ? service : service.filter((e) => e.startsWith(`${m![2]}/`));
    const [protocol, number] = (wanted[0] ?? service[0]!).split('/') as [string, string];
    return write(`${number}/${protocol}`, `"${m[1]}" is a service name, not a port`);
  }
  return undefined;
}
