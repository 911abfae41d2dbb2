// Hand-built IR for the netlink tests (they must not depend on the compiler): spans that
// name a line, address/proto/port key parts from text, and a ruleset with defaults.

import type {
  AddrPart,
  Chain,
  MapElement,
  NamedObject,
  ObjectMap,
  PortPart,
  ProtoPart,
  Rule,
  Ruleset,
  Statement,
} from '../../../src/compile/ir.js';
import { bigintToBytes, parseAddress } from '../../../src/policy/address.js';
import type { Span } from '../../../src/policy/span.js';

export function span(line: number, col = 1): Span {
  return { file: 'policy.yaml', line, col, endLine: line, endCol: col + 1 };
}

/** `192.0.2.10`, `192.0.2.0/24`, `2001:db8::/32`, `10.0.0.1-10.0.0.9`. */
export function addr(text: string): AddrPart {
  const r = parseAddress(text);
  if (!r.ok) throw new Error(r.message);
  const { family, start, end, prefixLength } = r.range;
  return { kind: 'addr', family, start: bigintToBytes(family, start), end: bigintToBytes(family, end), ...(prefixLength !== undefined ? { prefixLength } : {}) };
}

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 };

export function proto(name: string | number): ProtoPart {
  const value = typeof name === 'number' ? name : PROTOCOLS[name];
  if (value === undefined) throw new Error(`unknown protocol ${name}`);
  return { kind: 'proto', value };
}

/** `3128` or `1000-2000`. */
export function port(text: string | number): PortPart {
  const [from, to = from] = String(text).split('-').map(Number) as [number, number?];
  return { kind: 'port', from, to: to ?? from };
}

/** `element('192.0.2.0/24 . udp . 1000-2000', 'browser_client', 7)` */
export function element(key: string, object: string, line = 1): MapElement {
  const [a = '', p = '', s = ''] = key.split(' . ');
  return { parts: [addr(a), proto(p), port(s)], object, span: span(line) };
}

/** An interval map; `exactMap` for one without `flags interval`. */
export function map(name: string, family: 'ipv4' | 'ipv6', data: 'secmark' | 'counter', elements: MapElement[], line = 1, interval = true): ObjectMap {
  return { kind: 'map', name, interval, key: [family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr', 'inet_proto', 'inet_service'], data, elements, span: span(line) };
}

export function exactMap(name: string, family: 'ipv4' | 'ipv6', data: 'secmark' | 'counter', elements: MapElement[], line = 1): ObjectMap {
  return map(name, family, data, elements, line, false);
}

export function secmark(name: string, context: string, line = 1): NamedObject {
  return { kind: 'secmark', name, context, span: span(line) };
}

export function counter(name: string, line = 1): NamedObject {
  return { kind: 'counter', name, span: span(line) };
}

export function rule(statements: Statement[], comment = '', line = 1): Rule {
  return { statements, comment, span: span(line) };
}

export function chain(name: string, hook: 'input' | 'output', priority: number, rules: Rule[] = [], line = 1): Chain {
  return { name, hook, priority, policy: 'accept', rules, span: span(line) };
}

export function ruleset(parts: Partial<Pick<Ruleset, 'objects' | 'maps' | 'chains' | 'table'>> = {}): Ruleset {
  return {
    table: parts.table ?? 'secmarkc',
    family: 'inet',
    source: 'policy.yaml',
    span: span(1),
    objects: parts.objects ?? [],
    maps: parts.maps ?? [],
    chains: parts.chains ?? [],
  };
}

/** Statement shorthands. */
export const st = {
  ctState: (...states: ('new' | 'established' | 'related')[]): Statement => ({ kind: 'ct-state', states }),
  icmpv6Types: (from: number, to: number): Statement => ({ kind: 'icmpv6-type-range', from, to }),
  restore: (): Statement => ({ kind: 'meta-secmark-from-ct' }),
  save: (): Statement => ({ kind: 'ct-secmark-from-meta' }),
  objref: (objType: 'secmark' | 'counter', name: string): Statement => ({ kind: 'objref', objType, name }),
  objrefMap: (objType: 'secmark' | 'counter', mapName: string, dir: 'saddr' | 'daddr', family: 'ipv4' | 'ipv6'): Statement => ({
    kind: 'objref-map',
    objType,
    map: mapName,
    key: [family === 'ipv4' ? `ip ${dir}` : `ip6 ${dir}`, 'meta l4proto', 'th dport'],
  }),
  counter: (): Statement => ({ kind: 'counter' }),
};

/**
 * A map with `n` distinct elements (one /32 or /128 per element, ports cycling through a range),
 * sorted, each pointing at one of `objects`; built without parsing text, for size tests.
 */
export function bigMap(name: string, family: 'ipv4' | 'ipv6', n: number, objects: readonly string[], data: 'secmark' | 'counter' = 'counter'): ObjectMap {
  const elements: MapElement[] = [];
  const width = family === 'ipv4' ? 4 : 16;
  for (let i = 0; i < n; i++) {
    const a = new Uint8Array(width);
    a[0] = family === 'ipv4' ? 10 : 0x20;
    a[width - 3] = (i >> 16) & 0xff;
    a[width - 2] = (i >> 8) & 0xff;
    a[width - 1] = i & 0xff;
    const part: AddrPart = { kind: 'addr', family, start: a, end: a, prefixLength: width * 8 };
    elements.push({ parts: [part, { kind: 'proto', value: i % 2 ? 17 : 6 }, { kind: 'port', from: 1000 + (i % 7), to: 2000 + (i % 7) }], object: objects[i % objects.length] as string, span: span(100 + i) });
  }
  return map(name, family, data, elements);
}
