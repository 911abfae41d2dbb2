// explain: a domain's packet permissions in the loaded policy (sesearch rules, attributes
// expanded), joined with where each packet type comes from in our policy; and, for one new
// connection, the label our compiled ruleset gives it and whether the domain may use it.

import type { Ruleset } from '../compile/ir.js';
import { formatSpan } from '../policy/span.js';
import type { PacketRule } from '../selinux/sesearch-parse.js';
import { evaluateNewConnection, type Packet, type Verdict } from './evaluate.js';
import { describeOrigin, type Origin } from './origins.js';

export interface TypeGrant {
  readonly type: string;
  /** The sesearch rules that grant send / recv on this type (directly or through an attribute). */
  readonly send: readonly PacketRule[];
  readonly recv: readonly PacketRule[];
}

/**
 * Packet types and the rules granting them. `members(name)` returns an attribute's member types,
 * or undefined when NAME is a type.
 */
export function grantsByType(rules: readonly PacketRule[], members: (name: string) => readonly string[] | undefined): Map<string, TypeGrant> {
  const out = new Map<string, { type: string; send: PacketRule[]; recv: PacketRule[] }>();
  for (const rule of rules) {
    for (const type of members(rule.target) ?? [rule.target]) {
      let grant = out.get(type);
      if (!grant) out.set(type, (grant = { type, send: [], recv: [] }));
      if (rule.permissions.includes('send')) grant.send.push(rule);
      if (rule.permissions.includes('recv')) grant.recv.push(rule);
    }
  }
  return out;
}

export interface DomainEntry {
  readonly type: string;
  readonly send: boolean;
  readonly recv: boolean;
  readonly rules: readonly string[];
  readonly origins: readonly Origin[];
}

/** Every packet type DOMAIN may send or recv, types our policy produces first. */
export function explainDomain(grants: ReadonlyMap<string, TypeGrant>, origins: ReadonlyMap<string, readonly Origin[]>): DomainEntry[] {
  const entries: DomainEntry[] = [];
  for (const grant of grants.values()) {
    if (grant.send.length === 0 && grant.recv.length === 0) continue;
    entries.push({
      type: grant.type,
      send: grant.send.length > 0,
      recv: grant.recv.length > 0,
      rules: [...new Set([...grant.send, ...grant.recv].map((r) => r.text))],
      origins: origins.get(grant.type) ?? [],
    });
  }
  const rank = (e: DomainEntry): number => (e.origins.length > 0 ? 0 : 1);
  return entries.sort((a, b) => rank(a) - rank(b) || a.type.localeCompare(b.type));
}

export interface ConnectionAnswer {
  readonly allowed: boolean;
  readonly type: string;
  readonly object?: string;
  /** Where the label comes from, for people: `policy.yaml:12:9 (app "a" connect ...)`. */
  readonly labelFrom: string;
  readonly send: boolean;
  readonly recv: boolean;
  readonly message: string;
}

export function explainConnection(
  ruleset: Ruleset,
  hook: 'input' | 'output',
  packet: Packet,
  domain: string,
  grants: ReadonlyMap<string, TypeGrant>,
  origins: ReadonlyMap<string, readonly Origin[]>,
): ConnectionAnswer {
  const verdict = evaluateNewConnection(ruleset, hook, packet);
  const labelFrom = describeVerdict(verdict, origins);
  const grant = grants.get(verdict.type);
  const send = (grant?.send.length ?? 0) > 0;
  const recv = (grant?.recv.length ?? 0) > 0;
  const allowed = send && recv;
  const lacking = [...(send ? [] : ['send']), ...(recv ? [] : ['recv'])].join(' and ');
  const message = allowed
    ? `allowed: ${domain} may send and recv ${verdict.type} (label from ${labelFrom})`
    : `refused: ${domain} lacks ${lacking} on ${verdict.type} (label from ${labelFrom})`;
  return { allowed, type: verdict.type, ...(verdict.object ? { object: verdict.object } : {}), labelFrom, send, recv, message };
}

function describeVerdict(verdict: Verdict, origins: ReadonlyMap<string, readonly Origin[]>): string {
  const list = origins.get(verdict.type) ?? [];
  const via = verdict.via;
  if (!via) return list.map(describeOrigin).join('; ') || 'no rule';
  if (via.kind === 'map' && (via.map.startsWith('connect') || via.map.startsWith('serve'))) {
    const app = list.find((o) => o.kind === 'app');
    return `${formatSpan(via.element.span)}${app ? ` (${describeOrigin(app)})` : ''}`;
  }
  if (via.kind === 'map') {
    const port = via.element.parts.find((p) => p.kind === 'port');
    const range = port && port.kind === 'port' ? (port.from === port.to ? `${port.from}` : `${port.from}-${port.to}`) : '?';
    const origin = list.find((o) => o.kind === 'port');
    return `port label of port ${range} (map ${via.map}${origin ? `, ports: policy at ${origin.at}` : ''})`;
  }
  const origin = list.find((o) => o.kind === 'default' || o.kind === 'neighbour-discovery');
  return origin ? describeOrigin(origin) : formatSpan(via.span);
}
