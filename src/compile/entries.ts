// Flattening a policy's connect/serve rules into map entries (peer × port), and checking that
// no two entries of one map overlap: a packet can carry only one label, and the kernel's
// interval maps refuse overlapping elements anyway.

import type { DiagnosticSink } from '../policy/diagnostics.js';
import { PROTOCOL_NUMBERS, protocolFamily } from '../policy/ports.js';
import { fileSpan, type Span } from '../policy/span.js';
import type { PeerRange, PortEntry, TrafficRule } from '../policy/types.js';

/**
 * One map element in the making: a peer × a port entry of one app's rule. Kept small (a policy
 * of 100,000 entries makes 100,000 of these): the address interval is read from the peer, the
 * port range from the port entry.
 */
export interface Entry {
  /** The destination (connect) or source (serve); `any` is a shared whole-family range. */
  readonly peer: PeerRange;
  readonly port: PortEntry;
  readonly proto: number;
  /** `peer.start` as a double: ordered like it wherever the two differ, and compared much faster. */
  readonly startKey: number;
  readonly object: string;
  readonly app: string;
  readonly span: Span;
}

const ANY: Record<'ipv4' | 'ipv6', PeerRange> = {
  ipv4: { family: 'ipv4', start: 0n, end: (1n << 32n) - 1n, prefixLength: 0, text: 'any IPv4 address', span: fileSpan('') },
  ipv6: { family: 'ipv6', start: 0n, end: (1n << 128n) - 1n, prefixLength: 0, text: 'any IPv6 address', span: fileSpan('') },
};

export function expandRules(rules: readonly TrafficRule[], app: string, object: string, out: { ipv4: Entry[]; ipv6: Entry[] }): void {
  for (const rule of rules) {
    for (const port of rule.ports) {
      const onlyFamily = protocolFamily(port.protocol);
      const proto = PROTOCOL_NUMBERS[port.protocol];
      if (rule.peers === 'any') {
        for (const family of ['ipv4', 'ipv6'] as const) {
          if (onlyFamily && onlyFamily !== family) continue;
          out[family].push({ peer: ANY[family], port, proto, startKey: 0, object, app, span: port.span });
        }
        continue;
      }
      for (const peer of rule.peers) {
        if (onlyFamily && onlyFamily !== peer.family) continue;
        out[peer.family].push({ peer, port, proto, startKey: Number(peer.start), object, app, span: peer.span });
      }
    }
  }
}

/** Key order of the map: address, then protocol, then port. */
export function compareEntries(a: Entry, b: Entry): number {
  if (a.startKey !== b.startKey) return a.startKey - b.startKey;
  if (a.peer.start !== b.peer.start) return a.peer.start < b.peer.start ? -1 : 1;
  if (a.proto !== b.proto) return a.proto - b.proto;
  if (a.port.from !== b.port.from) return a.port.from - b.port.from;
  if (a.peer.end !== b.peer.end) return a.peer.end > b.peer.end ? -1 : 1;
  return b.port.to - a.port.to;
}

/**
 * Sorts entries and removes those wholly inside another entry with the same label (they add
 * nothing). Reports SMC041 for overlaps between different labels and SMC042 for partial
 * overlaps within one label; each entry is compared with the first kept entry it overlaps.
 *
 * A sweep over address starts. The kept entries whose address interval contains the sweep point
 * never overlap each other, so per protocol their port ranges are disjoint and, sorted by first
 * port, the ones overlapping a new entry form one run found by binary search: O(n log n) even
 * when thousands of ports share one address.
 */
export function resolveOverlaps(entries: Entry[], sink: DiagnosticSink, direction: 'connect' | 'serve'): Entry[] {
  entries.sort(compareEntries);
  const kept: Entry[] = [];
  const active = new Map<number, Entry[]>();
  let sweep: bigint | undefined;
  for (const entry of entries) {
    if (entry.peer.start !== sweep) {
      sweep = entry.peer.start;
      for (const list of active.values()) expire(list, sweep);
    }
    let list = active.get(entry.proto);
    if (!list) active.set(entry.proto, (list = []));
    // Last active entry starting at or before this entry's last port.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.port.from <= entry.port.to) lo = mid + 1;
      else hi = mid;
    }
    // Kept order is sorted order, so the first kept one it overlaps is the least of the run.
    let other: Entry | undefined;
    for (let i = lo - 1; i >= 0 && list[i]!.port.to >= entry.port.from; i--) {
      if (!other || compareEntries(list[i]!, other) < 0) other = list[i];
    }
    if (!other) {
      list.splice(lo, 0, entry);
      kept.push(entry);
      continue;
    }
    // Sorted by start (and, at equal start, larger first), so only `entry ⊆ other` can be a containment.
    const contained = entry.peer.end <= other.peer.end && other.port.from <= entry.port.from && entry.port.to <= other.port.to;
    if (other.object === entry.object && contained) continue;
    const where = `${describe(other)} of app "${other.app}" (line ${other.span.line})`;
    if (other.object === entry.object) {
      sink.error('SMC042', entry.span, `${describe(entry)} partly overlaps ${where}; split them so that they do not overlap or one contains the other`);
    } else {
      sink.error(
        'SMC041',
        entry.span,
        `${describe(entry)} of app "${entry.app}" overlaps ${where}: a ${direction === 'connect' ? 'connection' : 'served connection'} can carry only one label; list both domains in one app, or make the entries disjoint`,
      );
    }
  }
  return kept;
}

/** Drops, in place, the entries whose address interval ends before the sweep point. */
function expire(list: Entry[], point: bigint): void {
  let open = 0;
  for (const a of list) if (a.peer.end >= point) list[open++] = a;
  list.length = open;
}

function describe(entry: Entry): string {
  return `"${entry.peer.text} ${entry.port.text}"`;
}
