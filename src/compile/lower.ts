// lowerPolicy: validated Policy → IR (nft ruleset + CIL module). Pure and synchronous.
// The shape of the ruleset is explained in the README ("Policy reference": "Semantics" and "Generated names").

import { bigintToBytes, type ParsedRange } from '../policy/address.js';
import { DiagnosticSink, type Diagnostic } from '../policy/diagnostics.js';
import { generatedSpan, type Span } from '../policy/span.js';
import { PROTOCOL_NUMBERS } from '../policy/ports.js';
import type { PeerRange, Policy, PortEntry } from '../policy/types.js';
import { countEntries, EntryTable, expandRules, resolveOverlaps } from './entries.js';
import { lowerPrograms, type ProgramInputs } from './programs.js';
import type {
  AddrPart,
  Chain,
  CilModule,
  CompiledPolicy,
  Grant,
  Hook,
  KeyField,
  KeySelector,
  MapElement,
  NamedObject,
  ObjectMap,
  PacketType,
  PortPart,
  ProtoPart,
  Rule,
  Statement,
} from './ir.js';
import { DEFAULT_PACKET_TYPES, directionLabels, PORT_PROTOCOL_NUMBERS, type PortTable } from '../port-labels/port-table.js';
import { CHAIN_NAMES, EXACT_MAP_NAMES, MAP_NAMES, NDP_OBJECT, ndpTypeName, objectName, packetTypeName, PORT_MAP_NAMES, portObjectName, securityContext } from './names.js';

/**
 * Output runs after conntrack (-200, `ct state` needs it) and NAT (-100, so we see the final
 * address) and before SELinux's postroute `send` check (225). Input labels before socket delivery,
 * where `recv` is checked, so any priority works; filter (0) keeps both easy to read.
 */
export const CHAIN_PRIORITY: Record<Hook, number> = { input: 0, output: 0 };

/** ICMPv6 neighbour discovery: router solicitation (133) to redirect (137). */
export const NDP_TYPES = { from: 133, to: 137 } as const;

export type LowerResult =
  | { readonly ok: true; readonly compiled: CompiledPolicy; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

export interface LowerOptions {
  /** The port labels for `ports: policy` (from seinfo or --ports-from); ignored for `ports: none`. */
  readonly portTable?: PortTable;
  /** For apps with `programs`: the parents' rights and the files (src/compile/programs.ts). */
  readonly programs?: ProgramInputs;
}

/** The domain of the kernel's own sockets (SECINITSID_KERNEL). */
export const KERNEL_DOMAIN = 'kernel_t';

export function lowerPolicy(policy: Policy, options: LowerOptions = {}): LowerResult {
  const sink = new DiagnosticSink();
  const table = policy.table.value;
  const level = policy.level.value;

  const objects: NamedObject[] = [];
  const types: PacketType[] = [];
  const allows: Grant[] = [];
  const counts = { connect: { ipv4: 0, ipv6: 0 }, serve: { ipv4: 0, ipv6: 0 } };
  for (const app of policy.apps) for (const direction of ['connect', 'serve'] as const) countEntries(app[direction], counts[direction]);
  const entries = {
    connect: { ipv4: new EntryTable(counts.connect.ipv4), ipv6: new EntryTable(counts.connect.ipv6) },
    serve: { ipv4: new EntryTable(counts.serve.ipv4), ipv6: new EntryTable(counts.serve.ipv6) },
  };

  const addType = (name: string, object: string, role: PacketType['role'], span: Span, domains: Policy['loader']): void => {
    types.push({ name, role, span });
    objects.push({ kind: 'secmark', name: object, context: securityContext(name, level), span });
    for (const domain of domains) allows.push({ source: domain.value, target: name, permissions: ['send', 'recv'], span: domain.span });
    // The kernel answers on an app's connections from its own sockets (RST for a closed port,
    // ICMP errors, TIME_WAIT ACKs), and those replies carry the connection's label: refpolicy
    // grants kernel_t send on every packet_type for the same reason. Send only: nothing is
    // delivered to a kernel_t socket on these connections.
    if (role !== 'control' && !domains.some((d) => d.value === KERNEL_DOMAIN)) {
      allows.push({ source: KERNEL_DOMAIN, target: name, permissions: ['send'], span });
    }
  };

  const programs = lowerPrograms(policy, options.programs ?? {}, sink);
  for (const app of policy.apps) {
    const domains = [...app.domains, ...(programs.domainsOf.get(app.name) ?? [])];
    for (const direction of ['connect', 'serve'] as const) {
      const rules = app[direction];
      if (rules.length === 0) continue;
      const role = direction === 'connect' ? 'client' : 'server';
      const object = objectName(app.name, role);
      addType(packetTypeName(table, app.name, role), object, role, rules[0]!.span, domains);
      expandRules(rules, { object, app: app.name }, entries[direction]);
    }
  }
  if (policy.neighbourDiscovery.length > 0) {
    addType(ndpTypeName(table), NDP_OBJECT, 'control', policy.neighbourDiscovery[0]!.span, policy.neighbourDiscovery);
  }

  const maps: ObjectMap[] = [];
  const portTypes: string[] = [];
  if (policy.ports.value === 'policy') {
    if (!options.portTable) {
      sink.error('SMC050', policy.ports.span, '"ports: policy" needs the port labels of the loaded SELinux policy: run where seinfo (setools) can read it, or pass --ports-from FILE (saved with secmarkc ports --json)');
    } else {
      lowerPortLabels(options.portTable, policy.ports.span, level, objects, maps, portTypes);
    }
  }
  const parts = new PartCache();
  for (const direction of ['connect', 'serve'] as const) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      // Overlaps are checked on the union, so at most one of the two maps matches a packet.
      const table = entries[direction][family];
      table.seal();
      const kept = resolveOverlaps(table, sink, direction);
      maps.push(...splitExact(table, kept, direction, family, parts));
    }
  }
  if (sink.hasErrors) return { ok: false, diagnostics: sink.sorted() };

  const labelPorts = policy.ports.value === 'policy';
  const ndpSpan = policy.neighbourDiscovery[0]?.span;
  const chains = (['input', 'output'] as const).map((hook) => buildChain(hook, maps, ndpSpan, labelPorts ? policy.ports.span : undefined, policy.file));

  // The kernel checks relabelto when a secmark object is created: on our types and on every
  // packet type of the loaded policy that the ruleset uses (send/recv on those refpolicy grants).
  const relabelTargets = [...types.map((type) => type.name), ...portTypes];
  const relabel: Grant[] = policy.loader.flatMap((loader) =>
    relabelTargets.map((target) => ({ source: loader.value, target, permissions: ['relabelto'] as const, span: loader.span })),
  );
  const unlabeledGrant: Grant = { source: 'domain', target: 'unlabeled_t', permissions: ['send', 'recv'], span: policy.unlabeled.span };
  const mode = policy.unlabeled.value;
  const module: CilModule = {
    name: table,
    source: policy.file,
    types,
    allows: [...allows, ...relabel, ...(mode === 'deny' ? [] : [unlabeledGrant])],
    auditallows: mode === 'audit' ? [unlabeledGrant] : [],
    programs: programs.apps,
  };

  return {
    ok: true,
    diagnostics: sink.sorted(),
    compiled: { ruleset: { table, family: 'inet', source: policy.file, span: policy.table.span, objects, maps, chains }, module },
  };
}

/**
 * The maps of one direction × family: entries of one address and one port go to an exact (hash)
 * map, looked up in constant time; the rest (prefixes, ranges, ICMP's 0-65535) to the interval
 * (pipapo) map, whose lookup cost grows with its size. Empty maps are left out; exact first.
 */
function splitExact(table: EntryTable, kept: Int32Array, direction: 'connect' | 'serve', family: 'ipv4' | 'ipv6', parts: PartCache): ObjectMap[] {
  const fullLength = family === 'ipv4' ? 32 : 128;
  const isExact = (i: number): boolean => table.peers[i]!.range.prefixLength === fullLength && table.ports[i]!.from === table.ports[i]!.to;
  // Counted first, so that each array is made at its size: pushing 100,000 elements leaves
  // megabytes of outgrown arrays to the collector.
  let exactCount = 0;
  for (let k = 0; k < kept.length; k++) if (isExact(kept[k]!)) exactCount++;
  const exact = new Array<MapElement>(exactCount);
  const interval = new Array<MapElement>(kept.length - exactCount);
  // Indexed loops over per-entry arrays: the CLI runs most code in V8's baseline tiers
  // (bin/bundle-loader.js), where `for...of` allocates an iterator result per entry.
  for (let k = 0, e = 0, n = 0; k < kept.length; k++) {
    const i = kept[k]!;
    const port = table.ports[i]!;
    // The port entry made the element; its peer is a note (src/apply/refusal.ts).
    const element = parts.element(table.peers[i]!, port, table.owner(i).object, port.span, table.peerSpan(i));
    if (isExact(i)) exact[e++] = element;
    else interval[n++] = element;
  }
  const key: KeyField[] = [family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr', 'inet_proto', 'inet_service'];
  const map = (name: string, isInterval: boolean, elements: MapElement[]): ObjectMap => ({
    kind: 'map',
    name,
    interval: isInterval,
    key,
    data: 'secmark',
    elements,
    span: elements[0]!.span,
  });
  const out: ObjectMap[] = [];
  if (exact.length > 0) out.push(map(EXACT_MAP_NAMES[direction][family], false, exact));
  if (interval.length > 0) out.push(map(MAP_NAMES[direction][family], true, interval));
  return out;
}

/**
 * Key parts are immutable and shared between elements: one address part per parsed address (a peer × 100
 * ports is 100 elements), one part per protocol and one per port range. At 100,000 elements that
 * is most of the compiler's allocations gone, and emitters can cache text per part.
 */
class PartCache {
  private readonly addrs = new Map<ParsedRange, AddrPart>();
  private readonly protos = new Map<number, ProtoPart>();
  private readonly ports = new Map<PortEntry, PortPart>();
  private lastRange: ParsedRange | undefined;
  private lastAddr: AddrPart | undefined;

  element(peer: PeerRange, port: PortEntry, object: string, span: Span, peerSpan: Span | undefined): MapElement {
    const parts = [this.addr(peer), this.proto(PROTOCOL_NUMBERS[port.protocol]), this.port(port)];
    return peerSpan ? { parts, object, span, peer: peerSpan } : { parts, object, span };
  }

  private addr(peer: PeerRange): AddrPart {
    // A peer's entries come in a run (sorted by address): no lookup for the second and later.
    if (peer.range === this.lastRange) return this.lastAddr!;
    let part = this.addrs.get(peer.range);
    if (!part) {
      const { family, start, end, prefixLength } = peer.range;
      part = {
        kind: 'addr',
        family,
        start: bigintToBytes(family, start),
        end: bigintToBytes(family, end),
        ...(prefixLength === undefined ? {} : { prefixLength }),
      };
      this.addrs.set(peer.range, part);
    }
    this.lastRange = peer.range;
    this.lastAddr = part;
    return part;
  }

  private proto(value: number): ProtoPart {
    let part = this.protos.get(value);
    if (!part) this.protos.set(value, (part = { kind: 'proto', value }));
    return part;
  }

  private port(port: PortEntry): PortPart {
    let part = this.ports.get(port);
    if (!part) this.ports.set(port, (part = { kind: 'port', from: port.from, to: port.to }));
    return part;
  }
}

/**
 * Port labels: one secmark object per packet type used (the direction's default first), and one
 * `inet_proto . inet_service` interval map per direction with the adjacent ports of one type merged.
 */
function lowerPortLabels(table: PortTable, span: Span, level: string, objects: NamedObject[], maps: ObjectMap[], used: string[]): void {
  const use = (type: string): string => {
    if (!used.includes(type)) {
      used.push(type);
      objects.push({ kind: 'secmark', name: portObjectName(type), context: securityContext(type, level), span });
    }
    return portObjectName(type);
  };
  for (const direction of ['client', 'server'] as const) {
    use(DEFAULT_PACKET_TYPES[direction]);
    const labels = directionLabels(table, direction);
    if (labels.length === 0) continue;
    maps.push({
      kind: 'map',
      name: PORT_MAP_NAMES[direction],
      interval: true,
      key: ['inet_proto', 'inet_service'],
      data: 'secmark',
      elements: labels.map((l) => ({
        parts: [{ kind: 'proto', value: PORT_PROTOCOL_NUMBERS[l.protocol] }, { kind: 'port', from: l.from, to: l.to }],
        object: use(l.type),
        span,
      })),
      span,
    });
  }
}

/**
 * A base chain. Its rules carry the span of what enables them: the map rules their map's (its
 * first port entry), the port-label rules the `ports` key, neighbour discovery its key; the chain
 * and the rules every ruleset has are generated (no line of the policy makes them).
 */
function buildChain(hook: Hook, maps: readonly ObjectMap[], ndpSpan: Span | undefined, portsSpan: Span | undefined, file: string): Chain {
  const direction = hook === 'output' ? 'connect' : 'serve';
  const peer = hook === 'output' ? 'daddr' : 'saddr';
  const span = generatedSpan(file, `every ruleset has the ${hook} chain and its rules that restore and save a connection's label`);
  const rules: Rule[] = [
    {
      statements: [{ kind: 'ct-state', states: ['established', 'related'] }, { kind: 'meta-secmark-from-ct' }, { kind: 'counter' }],
      comment: 'restore the connection label',
      span,
    },
  ];
  if (portsSpan) {
    // Each `meta secmark set` overwrites the last: default, then port label, then app rules.
    const role = hook === 'output' ? 'client' : 'server';
    rules.push({
      statements: [{ kind: 'ct-state', states: ['new'] }, { kind: 'objref', objType: 'secmark', name: portObjectName(DEFAULT_PACKET_TYPES[role]) }, { kind: 'counter' }],
      comment: `default label of new ${role === 'client' ? 'outbound' : 'inbound'} connections`,
      span: portsSpan,
    });
    const portMap = maps.find((m) => m.name === PORT_MAP_NAMES[role]);
    if (portMap) {
      rules.push({
        statements: [{ kind: 'ct-state', states: ['new'] }, { kind: 'objref-map', objType: 'secmark', map: portMap.name, key: ['meta l4proto', 'th dport'] }, { kind: 'counter' }],
        comment: 'label new connections by the port labels of the SELinux policy',
        span: portMap.span,
      });
    }
  }
  for (const family of ['ipv4', 'ipv6'] as const) {
    const key: KeySelector[] = [family === 'ipv4' ? `ip ${peer}` : `ip6 ${peer}`, 'meta l4proto', 'th dport'];
    for (const name of [EXACT_MAP_NAMES[direction][family], MAP_NAMES[direction][family]]) {
      const map = maps.find((m) => m.name === name);
      if (!map) continue;
      const statements: Statement[] = [
        { kind: 'ct-state', states: ['new'] },
        { kind: 'objref-map', objType: 'secmark', map: map.name, key },
        { kind: 'counter' },
      ];
      rules.push({ statements, comment: `label new connections by ${direction} rules`, span: map.span });
    }
  }
  rules.push({
    statements: [{ kind: 'ct-state', states: ['new'] }, { kind: 'ct-secmark-from-meta' }, { kind: 'counter' }],
    comment: 'save the label of a new connection',
    span,
  });
  if (ndpSpan) {
    rules.push({
      statements: [
        { kind: 'icmpv6-type-range', from: NDP_TYPES.from, to: NDP_TYPES.to },
        { kind: 'objref', objType: 'secmark', name: NDP_OBJECT },
        { kind: 'counter' },
      ],
      comment: 'label neighbour discovery',
      span: ndpSpan,
    });
  }
  return { name: CHAIN_NAMES[hook], hook, priority: CHAIN_PRIORITY[hook], policy: 'accept', rules, span };
}
