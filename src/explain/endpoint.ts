// `192.0.2.10:443/tcp`, `[2001:db8::1]:443/tcp`: the peer of `explain --connect` / `--accept`.

import { parseAddress } from '../policy/address.js';
import { PORT_PROTOCOL_NUMBERS, PORT_PROTOCOLS, type PortProtocol } from '../ports/port-table.js';

export interface Endpoint {
  readonly family: 'ipv4' | 'ipv6';
  readonly address: bigint;
  readonly port: number;
  readonly protocol: PortProtocol;
  readonly proto: number;
  readonly text: string;
}

export function parseEndpoint(text: string): Endpoint | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]/]+)):(\d{1,5})\/([a-z]+)$/.exec(text.trim());
  if (!m) return `"${text}": expected ADDRESS:PORT/PROTO, e.g. 192.0.2.10:443/tcp or [2001:db8::1]:443/tcp`;
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
