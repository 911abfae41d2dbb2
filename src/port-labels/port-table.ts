// The port → packet type table of `ports: policy`, derived the way refpolicy's gennetfilter
// does: port type X_port_t labels with X_client_packet_t / X_server_packet_t when the loaded
// policy has those types in client_packet_type / server_packet_type. Pure: the port contexts
// and attribute members come in as data (from seinfo, or a saved `secmarkc ports --json`).

import { typeProblem } from '../policy/names.js';

export const PORT_PROTOCOLS = ['tcp', 'udp', 'sctp', 'dccp'] as const;
export type PortProtocol = (typeof PORT_PROTOCOLS)[number];

/** IANA protocol numbers (dccp 33). */
export const PORT_PROTOCOL_NUMBERS: Readonly<Record<PortProtocol, number>> = { tcp: 6, udp: 17, sctp: 132, dccp: 33 };

/** One `portcon PROTO FROM-TO CONTEXT` of the loaded policy, reduced to its type. */
export interface PortContext {
  readonly protocol: PortProtocol;
  readonly from: number;
  readonly to: number;
  readonly portType: string;
}

/** An inclusive port interval and the packet types new connections on it get. */
export interface PortLabel {
  readonly protocol: PortProtocol;
  readonly from: number;
  readonly to: number;
  readonly portType: string;
  /** Outbound label (output chain), if the policy has one for this port type. */
  readonly client?: string;
  /** Inbound label (input chain). */
  readonly server?: string;
}

export interface SkippedPortType {
  readonly portType: string;
  readonly reason: string;
}

export interface PortTable {
  /** Sorted by protocol then port; no two labels of one protocol overlap. */
  readonly labels: readonly PortLabel[];
  readonly skipped: readonly SkippedPortType[];
}

/** Packet types of connections no port label and no app rule covers (refpolicy's defaults). */
export const DEFAULT_PACKET_TYPES = { client: 'client_packet_t', server: 'server_packet_t' } as const;

const PORTS = 65536;

/**
 * The kernel looks port contexts up in the order CIL sorts them, most specific (smallest range)
 * first, and takes the first match. Painting from the least to the most specific gives every
 * port its winning type; runs of one type then become intervals.
 */
export function derivePortTable(portcons: readonly PortContext[], clientTypes: Iterable<string>, serverTypes: Iterable<string>): PortTable {
  const clients = new Set(clientTypes);
  const servers = new Set(serverTypes);
  const labelsOf = new Map<string, { client?: string; server?: string } | SkippedPortType>();
  const skipped: SkippedPortType[] = [];
  for (const { portType } of portcons) {
    if (labelsOf.has(portType)) continue;
    const result = packetTypesFor(portType, clients, servers);
    labelsOf.set(portType, result);
    if ('reason' in result) skipped.push(result);
  }

  const labels: PortLabel[] = [];
  for (const protocol of PORT_PROTOCOLS) {
    const mine = portcons
      .map((p, order) => ({ p, order }))
      .filter(({ p }) => p.protocol === protocol)
      .sort((a, b) => b.p.to - b.p.from - (a.p.to - a.p.from) || b.p.from - a.p.from || b.order - a.order);
    if (mine.length === 0) continue;
    const types: string[] = [];
    const winner = new Int32Array(PORTS).fill(-1);
    for (const { p } of mine) {
      let index = types.indexOf(p.portType);
      if (index < 0) index = types.push(p.portType) - 1;
      winner.fill(index, p.from, p.to + 1);
    }
    for (let port = 0; port < PORTS; ) {
      const index = winner[port] as number;
      let end = port;
      while (end + 1 < PORTS && winner[end + 1] === index) end++;
      const portType = types[index];
      const found = portType === undefined ? undefined : labelsOf.get(portType);
      if (portType !== undefined && found && !('reason' in found)) labels.push({ protocol, from: port, to: end, portType, ...found });
      port = end + 1;
    }
  }
  return { labels, skipped: skipped.sort((a, b) => a.portType.localeCompare(b.portType)) };
}

function packetTypesFor(portType: string, clients: Set<string>, servers: Set<string>): { client?: string; server?: string } | SkippedPortType {
  const problem = typeProblem(portType);
  if (problem) return { portType, reason: `type name ${problem}` };
  if (!portType.endsWith('_port_t')) return { portType, reason: 'not named *_port_t, so no packet types derive from it' };
  const base = portType.slice(0, -'_port_t'.length);
  const client = `${base}_client_packet_t`;
  const server = `${base}_server_packet_t`;
  const out = { ...(clients.has(client) ? { client } : {}), ...(servers.has(server) ? { server } : {}) };
  if (!out.client && !out.server) return { portType, reason: `no ${client} in client_packet_type and no ${server} in server_packet_type` };
  return out;
}

/** The labels of one direction, adjacent intervals with the same packet type merged. */
export function directionLabels(table: PortTable, direction: 'client' | 'server'): { protocol: PortProtocol; from: number; to: number; type: string }[] {
  const out: { protocol: PortProtocol; from: number; to: number; type: string }[] = [];
  for (const label of table.labels) {
    const type = label[direction];
    if (!type) continue;
    const last = out[out.length - 1];
    if (last && last.protocol === label.protocol && last.type === type && last.to + 1 === label.from) last.to = label.to;
    else out.push({ protocol: label.protocol, from: label.from, to: label.to, type });
  }
  return out;
}
