// Candidate layouts of the interval maps, for measuring their per-packet cost (layout-measure.ts)
// against secmarkc's concatenated interval map (one pipapo set keyed address . protocol . port).
// Each takes the compiled ruleset (counter objects) and rewrites only the lookups of interval
// maps; exact maps keep their hash layout. The compiler guarantees that no two elements overlap,
// so a packet is in at most one element's box, and any split of the boxes that finds that one
// keeps the labels:
//
// - `port-dispatch`: `meta l4proto` (hash) → per protocol `th dport vmap` (one-field interval:
//   rbtree) → one chain per port class (port segments covered by the same address → label
//   pairs) → `ip daddr map` (one-field interval: rbtree).
// - `portconcat-dispatch`: as above, but protocol and port in one `meta l4proto . th dport vmap`
//   (a two-field concatenation: pipapo, over the port classes only).
// - `addr-dispatch`: `ip daddr vmap` (rbtree) → one chain per address class → `meta l4proto .
//   th dport map` (pipapo over that address's entries only).

import type { KeySelector, MapElement, ObjectMap, Rule, Ruleset, Statement } from '../../src/compile/ir.js';
import { bytesToBigint, formatAddress } from '../../src/policy/address.js';
import { emitNftText, statementText } from '../../src/emit/nft-text.js';
import { keyPartText, protocolName } from '../../src/emit/element-text.js';

export type LayoutName = 'concat' | 'port-dispatch' | 'portconcat-dispatch' | 'addr-dispatch';
export const LAYOUTS: readonly LayoutName[] = ['concat', 'port-dispatch', 'portconcat-dispatch', 'addr-dispatch'];

type MapLookup = Extract<Statement, { kind: 'objref-map' }>;
const lookupOf = (rule: Rule): MapLookup | undefined => rule.statements.find((s): s is MapLookup => s.kind === 'objref-map');
const ruleText = (rule: Rule): string => `${rule.statements.map(statementText).join(' ')} comment "${rule.comment}"`;

interface Box { lo: bigint; hi: bigint; text: string }

/**
 * Splits an axis into segments by the boxes' edges and groups them by what covers them:
 * returns, per class, the segments (merged where adjacent) and the indices of its boxes.
 */
function classes(boxes: readonly Box[], key: (covering: readonly number[]) => string): { segments: [bigint, bigint][]; members: number[] }[] {
  const edges = [...new Set(boxes.flatMap((b) => [b.lo, b.hi + 1n]))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const byStart = boxes.map((_, i) => i).sort((a, b) => (boxes[a]!.lo < boxes[b]!.lo ? -1 : boxes[a]!.lo > boxes[b]!.lo ? 1 : 0));
  const out = new Map<string, { segments: [bigint, bigint][]; members: number[] }>();
  let active: number[] = [];
  let next = 0;
  for (let e = 0; e + 1 < edges.length; e++) {
    const lo = edges[e]!;
    const hi = edges[e + 1]! - 1n;
    while (next < byStart.length && boxes[byStart[next]!]!.lo <= lo) active.push(byStart[next++]!);
    active = active.filter((i) => boxes[i]!.hi >= lo);
    if (active.length === 0) continue;
    const k = key(active);
    let c = out.get(k);
    if (!c) out.set(k, (c = { segments: [], members: [...active] }));
    const last = c.segments[c.segments.length - 1];
    if (last && last[1] + 1n === lo) last[1] = hi;
    else c.segments.push([lo, hi]);
  }
  return [...out.values()];
}

const addrOf = (e: MapElement) => e.parts[0] as Extract<MapElement['parts'][number], { kind: 'addr' }>;
const protoOf = (e: MapElement) => (e.parts[1] as Extract<MapElement['parts'][number], { kind: 'proto' }>).value;
const portOf = (e: MapElement) => e.parts[2] as Extract<MapElement['parts'][number], { kind: 'port' }>;

function addrRangeText(family: 'ipv4' | 'ipv6', lo: bigint, hi: bigint): string {
  return lo === hi ? formatAddress(family, lo) : `${formatAddress(family, lo)}-${formatAddress(family, hi)}`;
}

interface Out { maps: string[]; chains: string[]; rule: string }

function mapBlock(name: string, type: string, interval: boolean, elements: readonly string[]): string {
  return [`\tmap ${name} {`, `\t\ttype ${type}`, ...(interval ? ['\t\tflags interval'] : []), `\t\telements = {`, elements.map((e) => `\t\t\t${e}`).join(',\n'), '\t\t}', '\t}'].join('\n');
}

function chainBlock(name: string, rules: readonly string[]): string {
  return [`\tchain ${name} {`, ...rules.map((r) => `\t\t${r}`), '\t}'].join('\n');
}

function portDispatch(map: ObjectMap, lookup: MapLookup, concat: boolean): Out {
  const family = addrOf(map.elements[0]!).family;
  const addrType = family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr';
  const addrSel = lookup.key[0] as KeySelector;
  const out: Out = { maps: [], chains: [], rule: '' };
  const byProto = new Map<number, MapElement[]>();
  for (const e of map.elements) {
    let list = byProto.get(protoOf(e));
    if (!list) byProto.set(protoOf(e), (list = []));
    list.push(e);
  }
  let id = 0;
  const concatElements: string[] = [];
  const protoJumps: string[] = [];
  for (const [proto, elements] of byProto) {
    const boxes = elements.map((e) => ({ lo: BigInt(portOf(e).from), hi: BigInt(portOf(e).to), text: '' }));
    const portVerdicts: string[] = [];
    for (const c of classes(boxes, (cov) => cov.map((i) => `${keyPartText(elements[i]!.parts[0]!)}:${elements[i]!.object}`).sort().join(' '))) {
      const name = `${map.name}_p${id++}`;
      const members = c.members.map((i) => elements[i]!).sort((a, b) => (bytesToBigint(addrOf(a).start) < bytesToBigint(addrOf(b).start) ? -1 : 1));
      out.maps.push(mapBlock(name, `${addrType} : counter`, true, members.map((e) => `${keyPartText(e.parts[0]!)} : "${e.object}"`)));
      out.chains.push(chainBlock(name, [`counter name ${addrSel} map @${name} counter`]));
      for (const [lo, hi] of c.segments) {
        const ports = lo === hi ? `${lo}` : `${lo}-${hi}`;
        if (concat) concatElements.push(`${protocolName(proto)} . ${ports} : jump ${name}`);
        else portVerdicts.push(`${ports} : jump ${name}`);
      }
    }
    if (!concat) {
      const pname = `${map.name}_proto${proto}`;
      out.maps.push(mapBlock(pname, 'inet_service : verdict', true, portVerdicts));
      out.chains.push(chainBlock(pname, [`th dport vmap @${pname}`]));
      protoJumps.push(`${protocolName(proto)} : jump ${pname}`);
    }
  }
  const nfproto = `meta nfproto ${family}`;
  if (concat) {
    out.maps.push(mapBlock(`${map.name}_ports`, 'inet_proto . inet_service : verdict', true, concatElements));
    out.rule = `ct state new ${nfproto} meta l4proto . th dport vmap @${map.name}_ports`;
  } else {
    out.rule = `ct state new ${nfproto} meta l4proto vmap { ${protoJumps.join(', ')} }`;
  }
  return out;
}

function addrDispatch(map: ObjectMap, lookup: MapLookup): Out {
  const family = addrOf(map.elements[0]!).family;
  const addrType = family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr';
  const out: Out = { maps: [], chains: [], rule: '' };
  const boxes = map.elements.map((e) => ({ lo: bytesToBigint(addrOf(e).start), hi: bytesToBigint(addrOf(e).end), text: '' }));
  const verdicts: string[] = [];
  let id = 0;
  const rest = (e: MapElement): string => `${keyPartText(e.parts[1]!)} . ${keyPartText(e.parts[2]!)} : "${e.object}"`;
  for (const c of classes(boxes, (cov) => cov.map((i) => rest(map.elements[i]!)).sort().join(' '))) {
    const name = `${map.name}_a${id++}`;
    const members = c.members.map((i) => map.elements[i]!).sort((a, b) => protoOf(a) - protoOf(b) || portOf(a).from - portOf(b).from);
    out.maps.push(mapBlock(name, 'inet_proto . inet_service : counter', true, members.map(rest)));
    out.chains.push(chainBlock(name, [`counter name meta l4proto . th dport map @${name} counter`]));
    for (const [lo, hi] of c.segments) verdicts.push(`${addrRangeText(family, lo, hi)} : jump ${name}`);
  }
  out.maps.push(mapBlock(`${map.name}_addrs`, `${addrType} : verdict`, true, verdicts));
  out.rule = `ct state new ${lookup.key[0]} vmap @${map.name}_addrs`;
  return out;
}

/**
 * The ruleset with each map lookup rule `times` times over: a new connection then pays for
 * `times` lookups, which lifts a per-lookup difference above the noise of a shared machine.
 */
export function repeatLookups(ruleset: Ruleset, times: number): Ruleset {
  return { ...ruleset, chains: ruleset.chains.map((c) => ({ ...c, rules: c.rules.flatMap((r) => (lookupOf(r) ? Array<Rule>(times).fill(r) : [r])) })) };
}

/** The ruleset (counter objects) as an nft script in the given layout. */
export function layoutNftText(ruleset: Ruleset, layout: LayoutName): string {
  if (layout === 'concat') return emitNftText(ruleset);
  const maps = new Map(ruleset.maps.map((m) => [m.name, m]));
  const t = `inet ${ruleset.table}`;
  const mapTexts: string[] = [];
  const chainTexts: string[] = [];
  const baseChains: string[] = [];
  const dispatched = new Map<string, Out>();
  for (const chain of ruleset.chains) {
    const rules: string[] = [];
    for (const rule of chain.rules) {
      const lookup = lookupOf(rule);
      const map = lookup && maps.get(lookup.map);
      if (!lookup || !map || !map.interval || map.key.length !== 3) {
        rules.push(ruleText(rule));
        continue;
      }
      // A lookup rule repeated (repeatLookups) repeats the dispatch rule only: the maps and chains
      // once (nft would append a chain declared twice to the first, repeating its rules too).
      let o = dispatched.get(map.name);
      if (!o) {
        o = layout === 'addr-dispatch' ? addrDispatch(map, lookup) : portDispatch(map, lookup, layout === 'portconcat-dispatch');
        dispatched.set(map.name, o);
        mapTexts.push(...o.maps);
        chainTexts.push(...o.chains);
      }
      rules.push(o.rule);
    }
    baseChains.push(chainBlock(chain.name, [`type filter hook ${chain.hook} priority ${chain.priority}; policy ${chain.policy};`, ...rules]));
  }
  const objects = ruleset.objects.map((o) => `\tcounter ${o.name} {\n\t}`);
  const exact = ruleset.maps.filter((m) => !m.interval || m.key.length !== 3);
  const exactTexts = exact.map((m) =>
    mapBlock(m.name, `${m.key.join(' . ')} : ${m.data}`, m.interval, m.elements.map((e) => `${e.parts.map(keyPartText).join(' . ')} : "${e.object}"`)),
  );
  return [`table ${t}`, `delete table ${t}`, `table ${t} {`, ...objects, ...exactTexts, ...mapTexts, ...chainTexts, ...baseChains, '}', ''].join('\n');
}
