// Generated names, deterministic and documented in the README ("Generated names").
// Inputs are validated identifiers (src/policy/names.ts), so concatenation cannot break quoting.

export type Direction = 'client' | 'server';

/** SELinux packet type for an app's connect (client) or serve (server) traffic. */
export function packetTypeName(table: string, app: string, direction: Direction): string {
  return `${table}_${app}_${direction}_packet_t`;
}

/** Executable file type of an app's `programs`. */
export function programExecTypeName(table: string, app: string): string {
  return `${table}_${app}_exec_t`;
}

/** The domain an app's programs run in when started from `parent` (`unconfined_t` → `_unconfined_t`). */
export function programDomainName(table: string, app: string, parent: string): string {
  return `${table}_${app}_${parent.replace(/_t$/, '')}_t`;
}

/** Packet type for IPv6 neighbour discovery. */
export function ndpTypeName(table: string): string {
  return `${table}_ndp_packet_t`;
}

/** nft secmark object name for an app's traffic in one direction. */
export function objectName(app: string, direction: Direction): string {
  return `${app}_${direction}`;
}

export const NDP_OBJECT = 'ndp';

export function securityContext(type: string, level: string): string {
  return `system_u:object_r:${type}:${level}`;
}

/** Interval maps: entries with an address range or prefix, a port range, or ICMP. */
export const MAP_NAMES = {
  connect: { ipv4: 'connect4', ipv6: 'connect6' },
  serve: { ipv4: 'serve4', ipv6: 'serve6' },
} as const;

/** Exact maps (hash, constant-time lookup): entries of one address, one protocol and one port. */
export const EXACT_MAP_NAMES = {
  connect: { ipv4: 'connect4_exact', ipv6: 'connect6_exact' },
  serve: { ipv4: 'serve4_exact', ipv6: 'serve6_exact' },
} as const;

/**
 * Port labels and the defaults use the loaded policy's packet types (`http_client_packet_t`,
 * `client_packet_t`) as their secmark object names: validated type names, and never equal to an
 * app's `<app>_client` / `<app>_server` or `ndp`.
 */
export function portObjectName(packetType: string): string {
  return packetType;
}

/** Maps from `inet_proto . inet_service` to the port label of each direction. */
export const PORT_MAP_NAMES = { client: 'port_client', server: 'port_server' } as const;

export const CHAIN_NAMES = { input: 'input', output: 'output' } as const;
