// From packet AVCs to suggested policy entries: which domain used which peer and port, in which
// direction. Pure: AVC records (+ the parsed policy to merge with) in, data out. The heuristics
// are listed in HEURISTICS so the emitted snippet and the README state exactly what was assumed.

import { formatAddress, parseAddress } from '../policy/address.js';
import { nameProblem, NAME_MAX, typeProblem } from '../policy/names.js';
import type { Policy, Protocol } from '../policy/types.js';
import type { AvcVerdict, PacketAvc, PacketPermission } from '../selinux/packet-avc.js';

export type Direction = 'connect' | 'serve';
export type PortProtocol = 'tcp' | 'udp' | 'sctp';

export interface LearnOptions {
  /** Packet AVCs name no protocol: every port entry gets this one. */
  readonly protocol: PortProtocol;
  /** Local port range the kernel picks client ports from (net.ipv4.ip_local_port_range). */
  readonly ephemeral: { readonly from: number; readonly to: number };
}

export const DEFAULT_LEARN_OPTIONS: LearnOptions = { protocol: 'tcp', ephemeral: { from: 32768, to: 60999 } };

/**
 * Domains many programs share (a root shell, services without a domain of their own): naming
 * them in `domain:` would let every such program use the label, so an AVC from one of them whose
 * event names its executable is suggested as that program under `programs:` (run from it).
 */
export const SHARED_DOMAINS: ReadonlySet<string> = new Set(['unconfined_t', 'initrc_t', 'init_t', 'sysadm_t', 'unconfined_service_t']);

/** How a packet was read, by name; each has a sentence in HEURISTICS. */
export type Heuristic = 'outbound' | 'inbound' | 'reply-to-outbound' | 'reply-from-server' | 'no-ports';

export const HEURISTICS: Readonly<Record<Heuristic, string>> = {
  outbound: 'send to daddr:DEST -> connect to daddr, port DEST',
  inbound: 'recv from saddr to local DEST -> serve DEST from saddr',
  'reply-to-outbound': 'recv from saddr:SRC where SRC is not ephemeral and DEST is -> a reply on our outbound connection: connect to saddr, port SRC',
  'reply-from-server': 'send from local SRC to daddr:DEST where SRC is not ephemeral and DEST is -> a local server answering: serve SRC from daddr',
  'no-ports': 'a packet without ports is taken as ICMP echo (icmp or icmpv6 by address family): send -> connect, recv -> serve; ' +
    'ICMPv6 to or from fe80::/10 or ff00::/8 is neighbour discovery: skipped (see neighbour_discovery:)',
};

/** What one (domain, direction, peer, protocol, port) was seen doing. */
export interface Observation {
  readonly domain: string;
  /** The executable (from auditd's SYSCALL records) when the domain is one programs share. */
  readonly program?: string;
  readonly direction: Direction;
  readonly peer: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly protocol: Protocol;
  /** undefined for ICMP. */
  readonly port?: number;
  /** Number of AVC lines behind this entry. */
  readonly count: number;
  readonly denied: number;
  readonly granted: number;
  readonly permissions: readonly PacketPermission[];
  readonly heuristics: readonly Heuristic[];
  readonly packetTypes: readonly string[];
  readonly first?: number;
  readonly last?: number;
  /** Line numbers of the first few AVCs, for finding them in the log. */
  readonly lines: readonly number[];
}

export interface SuggestedApp {
  /** Existing app of the policy that has this domain, else a new valid name derived from it. */
  readonly name: string;
  readonly domain: string;
  /** Suggested as `programs: [program]` run from `domain`, not as `domain:`. */
  readonly program?: string;
  readonly existing: boolean;
  readonly connect: readonly Observation[];
  readonly serve: readonly Observation[];
}

export type SkipReason =
  | { readonly kind: 'allowed'; readonly app: string }
  | { readonly kind: 'claimed'; readonly app: string }
  | { readonly kind: 'conflict'; readonly domain: string }
  | { readonly kind: 'invalid-domain'; readonly problem: string }
  /** ICMPv6 without ports to or from link-local/multicast: neighbour discovery, not a connection. */
  | { readonly kind: 'neighbour-discovery' };

export interface SkippedObservation {
  readonly observation: Observation;
  readonly reason: SkipReason;
}

export interface LearnSuggestion {
  readonly protocol: PortProtocol;
  readonly ephemeral: LearnOptions['ephemeral'];
  readonly avcCount: number;
  readonly denied: number;
  readonly granted: number;
  readonly first?: number;
  readonly last?: number;
  readonly apps: readonly SuggestedApp[];
  readonly skipped: readonly SkippedObservation[];
}

const MAX_LINES = 5;

export function suggestPolicy(avcs: readonly PacketAvc[], policy?: Policy, options: LearnOptions = DEFAULT_LEARN_OPTIONS): LearnSuggestion {
  const observations = observe(avcs, options);
  const skipped: SkippedObservation[] = [];
  const kept: Observation[] = [];
  for (const o of observations) {
    const problem = typeProblem(o.domain);
    if (problem) {
      skipped.push({ observation: o, reason: { kind: 'invalid-domain', problem } });
      continue;
    }
    if (o.protocol === 'icmpv6' && /^(fe[89ab][0-9a-f]|ff[0-9a-f]{2}):/i.test(o.peer)) {
      skipped.push({ observation: o, reason: { kind: 'neighbour-discovery' } });
      continue;
    }
    const owner = policy && lookup(policy, o);
    const mine = owner && (o.program !== undefined ? owner.programs.some((p) => p.value === o.program) : owner.domains.some((d) => d.value === o.domain));
    if (owner) skipped.push({ observation: o, reason: { kind: mine ? 'allowed' : 'claimed', app: owner.name } });
    else kept.push(o);
  }

  // A connection carries one label: one (direction, peer, protocol, port) can belong to one app.
  // The domain seen most often keeps it; the others are reported.
  const byPoint = new Map<string, Observation[]>();
  for (const o of kept) pushTo(byPoint, pointKey(o), o);
  const winners: Observation[] = [];
  for (const group of byPoint.values()) {
    group.sort((a, b) => b.count - a.count || compareText(a.domain, b.domain));
    winners.push(group[0]!);
    for (const loser of group.slice(1)) skipped.push({ observation: loser, reason: { kind: 'conflict', domain: group[0]!.domain } });
  }

  const apps = buildApps(winners, policy);
  const times = avcs.flatMap((a) => (a.time === undefined ? [] : [a.time]));
  return {
    protocol: options.protocol,
    ephemeral: options.ephemeral,
    avcCount: avcs.length,
    denied: avcs.filter((a) => a.verdict === 'denied').length,
    granted: avcs.filter((a) => a.verdict === 'granted').length,
    ...timeRange(times),
    apps,
    skipped: skipped.sort((a, b) => compareObservations(a.observation, b.observation)),
  };
}

/** Where one AVC points: direction, peer, protocol and port, and the heuristic that said so. */
export function classify(avc: PacketAvc, permission: PacketPermission, options: LearnOptions = DEFAULT_LEARN_OPTIONS): {
  direction: Direction; peer: string; protocol: Protocol; port?: number; heuristic: Heuristic;
} {
  const send = permission === 'send';
  if (avc.sport === undefined || avc.dport === undefined) {
    return { direction: send ? 'connect' : 'serve', peer: send ? avc.daddr : avc.saddr, protocol: avc.family === 'ipv4' ? 'icmp' : 'icmpv6', heuristic: 'no-ports' };
  }
  const ephemeral = (p: number) => p >= options.ephemeral.from && p <= options.ephemeral.to;
  const sourceIsService = !ephemeral(avc.sport) && ephemeral(avc.dport);
  const protocol = options.protocol;
  if (send) {
    return sourceIsService
      ? { direction: 'serve', peer: avc.daddr, protocol, port: avc.sport, heuristic: 'reply-from-server' }
      : { direction: 'connect', peer: avc.daddr, protocol, port: avc.dport, heuristic: 'outbound' };
  }
  return sourceIsService
    ? { direction: 'connect', peer: avc.saddr, protocol, port: avc.sport, heuristic: 'reply-to-outbound' }
    : { direction: 'serve', peer: avc.saddr, protocol, port: avc.dport, heuristic: 'inbound' };
}

interface Accumulator {
  domain: string; program?: string; direction: Direction; peer: string; family: 'ipv4' | 'ipv6'; protocol: Protocol; port?: number;
  count: number; verdicts: Record<AvcVerdict, number>; permissions: Set<PacketPermission>; heuristics: Set<Heuristic>;
  packetTypes: Set<string>; times: number[]; lines: number[];
}

function observe(avcs: readonly PacketAvc[], options: LearnOptions): Observation[] {
  const seen = new Map<string, Accumulator>();
  for (const avc of avcs) {
    for (const permission of avc.permissions) {
      const c = classify(avc, permission, options);
      const peer = canonical(c.peer);
      const program = avc.exe !== undefined && SHARED_DOMAINS.has(avc.domain) ? avc.exe : undefined;
      const key = [avc.domain, program ?? '', c.direction, peer, c.protocol, c.port ?? ''].join(' ');
      let acc = seen.get(key);
      if (!acc) {
        acc = {
          domain: avc.domain, ...(program === undefined ? {} : { program }), direction: c.direction, peer, family: avc.family, protocol: c.protocol,
          ...(c.port === undefined ? {} : { port: c.port }),
          count: 0, verdicts: { denied: 0, granted: 0 }, permissions: new Set(), heuristics: new Set(),
          packetTypes: new Set(), times: [], lines: [],
        };
        seen.set(key, acc);
      }
      acc.count++;
      acc.verdicts[avc.verdict]++;
      acc.permissions.add(permission);
      acc.heuristics.add(c.heuristic);
      acc.packetTypes.add(avc.packetType);
      if (avc.time !== undefined) acc.times.push(avc.time);
      if (acc.lines.length < MAX_LINES && !acc.lines.includes(avc.line)) acc.lines.push(avc.line);
    }
  }
  return [...seen.values()].map((a) => ({
    domain: a.domain, ...(a.program === undefined ? {} : { program: a.program }), direction: a.direction, peer: a.peer, family: a.family, protocol: a.protocol,
    ...(a.port === undefined ? {} : { port: a.port }),
    count: a.count, denied: a.verdicts.denied, granted: a.verdicts.granted,
    permissions: [...a.permissions].sort(), heuristics: [...a.heuristics].sort(), packetTypes: [...a.packetTypes].sort(),
    ...timeRange(a.times), lines: a.lines,
  })).sort(compareObservations);
}

/** The app of POLICY whose rules already label this observation, if any. */
function lookup(policy: Policy, o: Observation): Policy['apps'][number] | undefined {
  const address = parseAddress(o.peer);
  if (!address.ok) return undefined;
  const value = address.range.start;
  return policy.apps.find((app) =>
    app[o.direction].some((rule) =>
      (rule.peers === 'any' || rule.peers.some((p) => p.range.family === o.family && p.range.start <= value && value <= p.range.end)) &&
      rule.ports.some((p) => p.protocol === o.protocol && (o.port === undefined || (p.from <= o.port && o.port <= p.to)))));
}

function buildApps(observations: readonly Observation[], policy: Policy | undefined): SuggestedApp[] {
  const byDomain = new Map<string, Observation[]>();
  for (const o of observations) pushTo(byDomain, `${o.domain} ${o.program ?? ''}`, o);
  const taken = new Set(policy?.apps.map((a) => a.name) ?? []);
  const apps: SuggestedApp[] = [];
  for (const key of [...byDomain.keys()].sort(compareText)) {
    const list = byDomain.get(key)!;
    const { domain, program } = list[0]!;
    const existing = program !== undefined
      ? policy?.apps.find((a) => a.programs.some((p) => p.value === program))
      : policy?.apps.find((a) => a.domains.some((d) => d.value === domain));
    const name = existing?.name ?? uniqueName(program !== undefined ? appNameFor(program.slice(program.lastIndexOf('/') + 1)) : appNameFor(domain), taken);
    taken.add(name);
    apps.push({
      name, domain, ...(program === undefined ? {} : { program }), existing: existing !== undefined,
      connect: list.filter((o) => o.direction === 'connect'),
      serve: list.filter((o) => o.direction === 'serve'),
    });
  }
  return apps.sort((a, b) => compareText(a.name, b.name));
}

/** `mozilla_t` → `mozilla`; anything outside the app-name alphabet becomes `_`. */
export function appNameFor(domain: string): string {
  let name = domain.toLowerCase().replace(/_t$/, '').replace(/[^a-z0-9_]/g, '_').replace(/_+/g, '_');
  name = name.replace(/^[^a-z]+/, '').slice(0, NAME_MAX).replace(/_+$/, '');
  return name === '' ? 'app' : name;
}

function uniqueName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  for (let n = 2; taken.has(name); n++) {
    const suffix = `_${n}`;
    name = base.slice(0, NAME_MAX - suffix.length).replace(/_+$/, '') + suffix;
  }
  const problem = nameProblem(name);
  if (problem) throw new Error(`internal: derived app name "${name}" ${problem}`);
  return name;
}

/** Canonical address text, so `2001:db8:0::10` and `2001:db8::10` are one peer. */
function canonical(address: string): string {
  const parsed = parseAddress(address);
  return parsed.ok ? formatAddress(parsed.range.family, parsed.range.start) : address;
}

function pointKey(o: Observation): string {
  return [o.direction, o.peer, o.protocol, o.port ?? ''].join(' ');
}

function timeRange(times: readonly number[]): { first?: number; last?: number } {
  if (times.length === 0) return {};
  return { first: Math.min(...times), last: Math.max(...times) };
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareObservations(a: Observation, b: Observation): number {
  return compareText(a.domain, b.domain) || compareText(a.direction, b.direction) ||
    compareText(a.family, b.family) || compareAddress(a.peer, b.peer) ||
    compareText(a.protocol, b.protocol) || (a.port ?? 0) - (b.port ?? 0);
}

function compareAddress(a: string, b: string): number {
  const x = parseAddress(a);
  const y = parseAddress(b);
  if (!x.ok || !y.ok) return compareText(a, b);
  return x.range.start < y.range.start ? -1 : x.range.start > y.range.start ? 1 : 0;
}
