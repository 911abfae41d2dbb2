// The linear layout gennetfilter-style tools emit, for comparison with secmarkc's maps: the same
// objects and the same conntrack save/restore rules, but one rule per map element,
// `ip daddr A tcp dport P meta secmark set "obj"` (or `counter name "obj"` where counter objects
// stand in for secmark objects). Like refpolicy's gennetfilter, the per-entry rules sit in a
// chain per hook (`output_new`, `input_new`) jumped to only for new connections, so they cost per
// new connection, not per packet; each holds the elements of the maps its base chain looks up.
// `last` names the object whose entries go last: the traffic under test matches the last rules
// (the worst case; every rule is evaluated anyway, as labelling does not end the chain). With
// secmark objects, which count nothing, the rules of the objects in `counted` (by default `last`)
// also count into a counter object `<object>_hits`: the proof that they hit, read without
// dumping every rule (a dump of 100,000 rules takes minutes under TCG).

import type { Chain, KeySelector, MapElement, Rule, Ruleset, Statement } from '../../src/compile/ir.js';
import { addrText, protocolName } from '../../src/emit/element-text.js';
import { statementText } from '../../src/emit/nft-text.js';

const ruleText = (rule: Rule): string => `${rule.statements.map(statementText).join(' ')} comment "${rule.comment}"`;
const PORT_PROTOCOLS = new Set([6, 17, 132]);

type MapLookup = Extract<Statement, { kind: 'objref-map' }>;
const lookupOf = (rule: Rule): MapLookup | undefined => rule.statements.find((s): s is MapLookup => s.kind === 'objref-map');

/** The match of one element: address (by the lookup's own selector), protocol, port. */
function matchText(element: MapElement, addrSelector: KeySelector): string {
  const [addr, proto, port] = element.parts;
  if (addr?.kind !== 'addr' || proto?.kind !== 'proto' || port?.kind !== 'port') throw new Error('linear layout: unexpected map key');
  const a = addrText(addr);
  const words: string[] = [];
  if (a.kind === 'single') words.push(`${addrSelector} ${a.addr}`);
  else if (a.kind === 'prefix') words.push(a.length === 0 ? `meta nfproto ${addr.family}` : `${addrSelector} ${a.addr}/${a.length}`);
  else words.push(`${addrSelector} ${a.from}-${a.to}`);
  const ports = port.from === port.to ? String(port.from) : `${port.from}-${port.to}`;
  if (PORT_PROTOCOLS.has(proto.value)) words.push(`${protocolName(proto.value)} dport ${ports}`);
  else words.push(`meta l4proto ${proto.value}`);
  return words.join(' ');
}

export function linearNftText(ruleset: Ruleset, last: string, counted: readonly string[] = [last]): string {
  const t = `inet ${ruleset.table}`;
  const maps = new Map(ruleset.maps.map((m) => [m.name, m]));
  const linearChain = (c: Chain): string[] => {
    const entries: { element: MapElement; rule: string }[] = [];
    for (const lookup of c.rules.map(lookupOf)) {
      if (!lookup) continue;
      const map = maps.get(lookup.map);
      if (!map) throw new Error(`linear layout: no map ${lookup.map}`);
      for (const element of map.elements) {
        const label = statementText({ kind: 'objref', objType: map.data, name: element.object });
        const proof = map.data === 'secmark' && counted.includes(element.object) ? ` counter name "${element.object}_hits"` : '';
        entries.push({ element, rule: `\t\t${matchText(element, lookup.key[0]!)} ${label}${proof}` });
      }
    }
    const ordered = [...entries.filter((e) => e.element.object !== last), ...entries.filter((e) => e.element.object === last)];
    return [`\tchain ${c.name}_new {`, ...ordered.map((e) => e.rule), '\t}'];
  };
  // Base chains as secmarkc has them, the map lookups replaced by one jump to the linear chain.
  const base = (c: Chain): string[] => {
    const first = c.rules.find((r) => lookupOf(r));
    const rules = c.rules.flatMap((r) => (!lookupOf(r) ? [`\t\t${ruleText(r)}`] : r === first ? [`\t\tct state new jump ${c.name}_new`] : []));
    return [`\tchain ${c.name} {`, `\t\ttype filter hook ${c.hook} priority ${c.priority}; policy ${c.policy};`, ...rules, '\t}'];
  };
  const counter = (name: string): string => `\tcounter ${name} {\n\t}`;
  const objects = ruleset.objects.flatMap((o) =>
    o.kind === 'secmark' ? [`\tsecmark ${o.name} {\n\t\t"${o.context ?? ''}"\n\t}`, ...(counted.includes(o.name) ? [counter(`${o.name}_hits`)] : [])] : [counter(o.name)],
  );
  const withLookups = ruleset.chains.filter((c) => c.rules.some(lookupOf));
  return [
    `table ${t}`,
    `delete table ${t}`,
    `table ${t} {`,
    ...objects,
    ...withLookups.flatMap(linearChain),
    ...ruleset.chains.flatMap(base),
    '}',
    '',
  ].join('\n');
}
