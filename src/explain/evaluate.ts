// A small evaluator of our compiled chains for one new connection, in the kernel's order: rules
// top to bottom, each `meta secmark set` overwriting the last, a map lookup that misses ending
// its rule. It answers "which label would this connection get, and which entry gave it".

import type { Chain, KeyPart, KeySelector, MapElement, ObjectMap, Ruleset } from '../compile/ir.js';
import { bytesToBigint } from '../policy/address.js';
import type { Span } from '../policy/span.js';

export interface Packet {
  readonly family: 'ipv4' | 'ipv6';
  readonly saddr: bigint;
  readonly daddr: bigint;
  /** IANA protocol number. */
  readonly proto: number;
  readonly dport: number;
}

export interface Verdict {
  /** Secmark object name, or undefined when nothing labels the connection (unlabeled_t). */
  readonly object?: string;
  /** The packet type of that object's context, or `unlabeled_t`. */
  readonly type: string;
  /** How the label was set: by name (a default), or through which map and element. */
  readonly via?: { readonly kind: 'object'; readonly span: Span } | { readonly kind: 'map'; readonly map: string; readonly element: MapElement };
}

export function evaluateNewConnection(ruleset: Ruleset, hook: 'input' | 'output', packet: Packet): Verdict {
  const chain: Chain | undefined = ruleset.chains.find((c) => c.hook === hook);
  let verdict: Verdict = { type: 'unlabeled_t' };
  const typeOf = (object: string): string => {
    const context = ruleset.objects.find((o) => o.name === object)?.context;
    return context?.split(':')[2] ?? object;
  };
  for (const rule of chain?.rules ?? []) {
    let current = verdict;
    let matched = true;
    for (const s of rule.statements) {
      if (s.kind === 'ct-state') matched = s.states.includes('new');
      else if (s.kind === 'icmpv6-type-range') matched = false; // connections, not neighbour discovery
      else if (s.kind === 'objref') current = { object: s.name, type: typeOf(s.name), via: { kind: 'object', span: rule.span } };
      else if (s.kind === 'objref-map') {
        const map = ruleset.maps.find((m) => m.name === s.map);
        const element = map ? lookup(map, s.key, packet) : undefined;
        if (!element) matched = false;
        else current = { object: element.object, type: typeOf(element.object), via: { kind: 'map', map: s.map, element } };
      }
      // meta-secmark-from-ct: only on established/related; ct-secmark-from-meta and counter change no label.
      if (!matched) break;
    }
    if (matched) verdict = current;
  }
  return verdict;
}

function selectorValue(selector: KeySelector, packet: Packet): { family?: 'ipv4' | 'ipv6'; value: bigint } {
  switch (selector) {
    case 'ip saddr':
      return { family: 'ipv4', value: packet.saddr };
    case 'ip daddr':
      return { family: 'ipv4', value: packet.daddr };
    case 'ip6 saddr':
      return { family: 'ipv6', value: packet.saddr };
    case 'ip6 daddr':
      return { family: 'ipv6', value: packet.daddr };
    case 'meta l4proto':
      return { value: BigInt(packet.proto) };
    case 'th dport':
      return { value: BigInt(packet.dport) };
  }
}

function lookup(map: ObjectMap, key: readonly KeySelector[], packet: Packet): MapElement | undefined {
  const values: bigint[] = [];
  for (const selector of key) {
    const v = selectorValue(selector, packet);
    if (v.family && v.family !== packet.family) return undefined; // the implied `meta nfproto` fails
    values.push(v.value);
  }
  return map.elements.find((e) => e.parts.every((part, i) => contains(part, values[i] as bigint)));
}

function contains(part: KeyPart, value: bigint): boolean {
  switch (part.kind) {
    case 'addr':
      return bytesToBigint(part.start) <= value && value <= bytesToBigint(part.end);
    case 'proto':
      return BigInt(part.value) === value;
    case 'port':
      return BigInt(part.from) <= value && value <= BigInt(part.to);
  }
}
