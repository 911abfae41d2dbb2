// Flattening a policy's connect/serve rules into map entries (peer × port), and checking that
// no two entries of one map overlap: a packet can carry only one label, and the kernel's
// interval maps refuse overlapping elements anyway.

import type { ParsedRange } from '../policy/address.js';
import type { DiagnosticSink } from '../policy/diagnostics.js';
import { PROTOCOL_NUMBERS, protocolFamily } from '../policy/ports.js';
import { fileSpan, type Span } from '../policy/span.js';
import type { PeerRange, PortEntry, TrafficRule } from '../policy/types.js';
import { sortedOrder } from './sort-entries.js';

/** Whose an entry is: the secmark object it maps to and the app that asked for it. */
export interface Owner {
  readonly object: string;
  readonly app: string;
}

/**
 * The entries of one map in the making (a peer × a port entry of one app's rule), column by
 * column: a policy of 100,000 entries would otherwise make 100,000 short-lived objects, and on
 * these machines every surviving allocated byte costs garbage-collector copying. Entry i is
 * (peers[i], ports[i], owners[ownerOf[i]]); peers and ports are the policy's own objects.
 */
export class EntryTable {
  readonly peers: PeerRange[];
  readonly ports: PortEntry[];
  readonly ownerOf: number[];
  readonly owners: Owner[] = [];
  private count = 0;

  /**
   * `capacity`: the number of entries to come (countEntries), so that the columns are made at
   * their size: pushing 100,000 entries leaves megabytes of outgrown arrays to the collector.
   * More entries than that still fit (the columns grow).
   */
  constructor(capacity = 0) {
    this.peers = new Array<PeerRange>(capacity);
    this.ports = new Array<PortEntry>(capacity);
    this.ownerOf = new Array<number>(capacity);
  }

  get length(): number {
    return this.count;
  }

  add(peer: PeerRange, port: PortEntry, owner: number): void {
    const i = this.count++;
    this.peers[i] = peer;
    this.ports[i] = port;
    this.ownerOf[i] = owner;
  }

  /** Done adding: columns of a capacity above the count are cut to it. */
  seal(): void {
    this.peers.length = this.ports.length = this.ownerOf.length = this.count;
  }

  owner(i: number): Owner {
    return this.owners[this.ownerOf[i]!]!;
  }

  /** Where entry i was written, for overlap diagnostics: the peer, or for `any` peer the port entry. */
  span(i: number): Span {
    const peer = this.peers[i]!;
    return peer === ANY[peer.range.family] ? this.ports[i]!.span : peer.span;
  }

  /** Where the address of entry i was written (a peer, a group member); undefined for `any`. */
  peerSpan(i: number): Span | undefined {
    const peer = this.peers[i]!;
    return peer === ANY[peer.range.family] ? undefined : peer.span;
  }
}

const anyRange = (family: 'ipv4' | 'ipv6', end: bigint, text: string): PeerRange => {
  const range: ParsedRange = { family, start: 0n, end, prefixLength: 0 };
  return { range, text, span: fileSpan('') };
};
const ANY: Record<'ipv4' | 'ipv6', PeerRange> = {
  ipv4: anyRange('ipv4', (1n << 32n) - 1n, 'any IPv4 address'),
  ipv6: anyRange('ipv6', (1n << 128n) - 1n, 'any IPv6 address'),
};

/** How many entries expandRules makes of `rules`, per family (added to `counts`). */
export function countEntries(rules: readonly TrafficRule[], counts: { ipv4: number; ipv6: number }): void {
  for (const rule of rules) {
    const ports = rule.ports;
    for (let j = 0; j < ports.length; j++) {
      const onlyFamily = protocolFamily(ports[j]!.protocol);
      if (rule.peers === 'any') {
        if (onlyFamily !== 'ipv6') counts.ipv4++;
        if (onlyFamily !== 'ipv4') counts.ipv6++;
        continue;
      }
      const peers = rule.peers;
      for (let i = 0; i < peers.length; i++) if (!onlyFamily || onlyFamily === peers[i]!.range.family) counts[peers[i]!.range.family]++;
    }
  }
}

export function expandRules(rules: readonly TrafficRule[], owner: Owner, out: { ipv4: EntryTable; ipv6: EntryTable }): void {
  const ownerIndex = { ipv4: out.ipv4.owners.push(owner) - 1, ipv6: out.ipv6.owners.push(owner) - 1 };
  const add = (peer: PeerRange, port: PortEntry): void => out[peer.range.family].add(peer, port, ownerIndex[peer.range.family]);
  // Indexed loops: this runs once per entry (peers × ports), mostly in V8's baseline tiers
  // (bin/bundle-loader.js), where `for...of` allocates an iterator result per step.
  for (const rule of rules) {
    const ports = rule.ports;
    if (rule.peers === 'any') {
      for (let j = 0; j < ports.length; j++) {
        const onlyFamily = protocolFamily(ports[j]!.protocol);
        if (onlyFamily !== 'ipv6') add(ANY.ipv4, ports[j]!);
        if (onlyFamily !== 'ipv4') add(ANY.ipv6, ports[j]!);
      }
      continue;
    }
    const peers = rule.peers;
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[i]!;
      for (let j = 0; j < ports.length; j++) {
        const onlyFamily = protocolFamily(ports[j]!.protocol);
        if (!onlyFamily || onlyFamily === peer.range.family) add(peer, ports[j]!);
      }
    }
  }
}

/**
 * The sort keys of a table's entries: the peer's interval as two small integers (`startRank`
 * orders distinct starts, `intervalRank` distinct intervals by start, then end descending), so
 * that sorting compares numbers, not 128-bit bigints; and the protocol number and port range.
 * Intervals are ranked once per distinct parsed address, not once per entry.
 */
function sortKeys(table: EntryTable) {
  const n = table.length;
  const ranks = new Map<ParsedRange, { start: number; interval: number }>();
  // Indexed, not `for...of`: see splitExact in lower.ts.
  for (let i = 0; i < n; i++) {
    const range = table.peers[i]!.range;
    if (!ranks.has(range)) ranks.set(range, { start: 0, interval: 0 });
  }
  const ranges = [...ranks.keys()].sort((a, b) => (a.start !== b.start ? (a.start < b.start ? -1 : 1) : a.end !== b.end ? (a.end > b.end ? -1 : 1) : 0));
  let start = -1;
  let interval = -1;
  let previous: ParsedRange | undefined;
  for (const range of ranges) {
    if (!previous || range.start !== previous.start) start++;
    if (!previous || range.start !== previous.start || range.end !== previous.end) interval++;
    const rank = ranks.get(range)!;
    rank.start = start;
    rank.interval = interval;
    previous = range;
  }
  const keys = { startRank: new Int32Array(n), intervalRank: new Int32Array(n), proto: new Uint8Array(n), from: new Uint16Array(n), to: new Uint16Array(n) };
  let lastRange: ParsedRange | undefined;
  let rank = { start: 0, interval: 0 };
  for (let i = 0; i < n; i++) {
    const range = table.peers[i]!.range;
    // Entries of one peer are added together: one map lookup per peer, not per entry.
    if (range !== lastRange) rank = ranks.get((lastRange = range))!;
    keys.startRank[i] = rank.start;
    keys.intervalRank[i] = rank.interval;
    const port = table.ports[i]!;
    keys.proto[i] = PROTOCOL_NUMBERS[port.protocol];
    keys.from[i] = port.from;
    keys.to[i] = port.to;
  }
  return keys;
}

/**
 * Sorts the table's entries into key order (address, then protocol, then port; at equal start
 * the larger interval first) and drops those wholly inside another entry with the same label
 * (they add nothing); returns the indices of the rest, in order. Reports SMC041 for overlaps
 * between different labels and SMC042 for partial overlaps within one label; each entry is
 * compared with the first kept entry it overlaps.
 *
 * A sweep over address starts. The kept entries whose address interval contains the sweep point
 * never overlap each other, so per protocol their port ranges are disjoint and, sorted by first
 * port, the ones overlapping a new entry form one run found by binary search: O(n log n) even
 * when thousands of ports share one address.
 */
export function resolveOverlaps(table: EntryTable, sink: DiagnosticSink, direction: 'connect' | 'serve'): Int32Array {
  const { startRank, intervalRank, proto, from, to } = sortKeys(table);
  const compare = (i: number, j: number): number =>
    startRank[i]! - startRank[j]! || proto[i]! - proto[j]! || from[i]! - from[j]! || intervalRank[i]! - intervalRank[j]! || to[j]! - to[i]!;
  const order = sortedOrder(table.length, { startRank, proto, from }, compare);

  const peers = table.peers;
  const kept = new Int32Array(order.length);
  let keptCount = 0;
  const active = new Map<number, number[]>();
  let sweep = -1;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (startRank[i] !== sweep) {
      sweep = startRank[i]!;
      for (const list of active.values()) expire(list, peers, peers[i]!.range.start);
    }
    let list = active.get(proto[i]!);
    if (!list) active.set(proto[i]!, (list = []));
    // Last active entry starting at or before this entry's last port.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (from[list[mid]!]! <= to[i]!) lo = mid + 1;
      else hi = mid;
    }
    // Kept order is sorted order, so the first kept one it overlaps is the least of the run.
    let other = -1;
    for (let j = lo - 1; j >= 0 && to[list[j]!]! >= from[i]!; j--) {
      if (other < 0 || compare(list[j]!, other) < 0) other = list[j]!;
    }
    if (other < 0) {
      if (lo === list.length) list.push(i);
      else list.splice(lo, 0, i);
      kept[keptCount++] = i;
      continue;
    }
    // Sorted by start (and, at equal start, larger first), so only `entry ⊆ other` can be a containment.
    const contained = peers[i]!.range.end <= peers[other]!.range.end && from[other]! <= from[i]! && to[i]! <= to[other]!;
    const mine = table.owner(i);
    const theirs = table.owner(other);
    if (theirs.object === mine.object && contained) continue;
    const where = `${describe(table, other)} of app "${theirs.app}" (line ${table.span(other).line})`;
    if (theirs.object === mine.object) {
      sink.error('SMC042', table.span(i), `${describe(table, i)} partly overlaps ${where}; split them so that they do not overlap or one contains the other`);
    } else {
      sink.error(
        'SMC041',
        table.span(i),
        `${describe(table, i)} of app "${mine.app}" overlaps ${where}: a ${direction === 'connect' ? 'connection' : 'served connection'} can carry only one label; list both domains in one app, or make the entries disjoint`,
      );
    }
  }
  return kept.subarray(0, keptCount);
}

/** Drops, in place, the entries whose address interval ends before the sweep point. */
function expire(list: number[], peers: readonly PeerRange[], point: bigint): void {
  let open = 0;
  for (let k = 0; k < list.length; k++) {
    const i = list[k]!;
    if (peers[i]!.range.end >= point) list[open++] = i;
  }
  list.length = open;
}

function describe(table: EntryTable, i: number): string {
  return `"${table.peers[i]!.text} ${table.ports[i]!.text}"`;
}
