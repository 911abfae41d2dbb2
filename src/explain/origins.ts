// Where each packet type our ruleset uses comes from: an app entry of the policy (file:line:col),
// a port label of the loaded SELinux policy, a default, neighbour discovery, or unlabeled_t.

import { ndpTypeName, packetTypeName } from '../compile/names.js';
import { formatSpan } from '../policy/span.js';
import type { Policy } from '../policy/types.js';
import { DEFAULT_PACKET_TYPES, type PortTable } from '../port-labels/port-table.js';

export type Origin =
  | { readonly kind: 'app'; readonly app: string; readonly direction: 'connect' | 'serve'; readonly at: readonly string[] }
  | { readonly kind: 'port'; readonly direction: 'client' | 'server'; readonly ports: readonly string[]; readonly at: string }
  | { readonly kind: 'default'; readonly direction: 'client' | 'server'; readonly at: string }
  | { readonly kind: 'neighbour-discovery'; readonly at: string }
  | { readonly kind: 'unlabeled'; readonly mode: string; readonly at: string };

export function packetTypeOrigins(policy: Policy, portTable: PortTable | undefined): Map<string, Origin[]> {
  const out = new Map<string, Origin[]>();
  const add = (type: string, origin: Origin): void => {
    const list = out.get(type) ?? [];
    list.push(origin);
    out.set(type, list);
  };
  const table = policy.table.value;
  for (const app of policy.apps) {
    for (const direction of ['connect', 'serve'] as const) {
      const rules = app[direction];
      if (rules.length === 0) continue;
      add(packetTypeName(table, app.name, direction === 'connect' ? 'client' : 'server'), { kind: 'app', app: app.name, direction, at: rules.map((r) => formatSpan(r.span)) });
    }
  }
  if (policy.neighbourDiscovery.length > 0) add(ndpTypeName(table), { kind: 'neighbour-discovery', at: formatSpan(policy.neighbourDiscovery[0]!.span) });
  if (policy.ports.value === 'policy' && portTable) {
    const at = formatSpan(policy.ports.span);
    for (const direction of ['client', 'server'] as const) {
      add(DEFAULT_PACKET_TYPES[direction], { kind: 'default', direction, at });
      const ports = new Map<string, string[]>();
      for (const l of portTable.labels) {
        const type = l[direction];
        if (!type) continue;
        const list = ports.get(type) ?? [];
        list.push(`${l.protocol}/${l.from === l.to ? l.from : `${l.from}-${l.to}`}`);
        ports.set(type, list);
      }
      for (const [type, list] of ports) add(type, { kind: 'port', direction, ports: list, at });
    }
  }
  add('unlabeled_t', { kind: 'unlabeled', mode: policy.unlabeled.value, at: formatSpan(policy.unlabeled.span) });
  return out;
}

export function describeOrigin(o: Origin): string {
  switch (o.kind) {
    case 'app':
      return `app "${o.app}" ${o.direction} (${o.at.join(', ')})`;
    case 'port':
      return `port label ${o.direction === 'client' ? 'outbound' : 'inbound'} ${o.ports.length > 6 ? `${o.ports.slice(0, 6).join(', ')}, … (${o.ports.length} ranges)` : o.ports.join(', ')} (ports: policy, ${o.at})`;
    case 'default':
      return `default for new ${o.direction === 'client' ? 'outbound' : 'inbound'} connections (ports: policy, ${o.at})`;
    case 'neighbour-discovery':
      return `IPv6 neighbour discovery (${o.at})`;
    case 'unlabeled':
      return `what no rule labels (unlabeled: ${o.mode}, ${o.at})`;
  }
}
