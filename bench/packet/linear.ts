// The linear layout gennetfilter-style tools emit, for comparison with secmarkc's map: the same
// objects and the same conntrack save/restore rules, but one rule per (address, protocol, port)
// entry, `ip daddr A tcp dport P counter name "obj"` (a counter object standing in for
// `meta secmark set "obj"`). Like refpolicy's gennetfilter, the per-entry rules sit in a chain
// jumped to only for new connections, so they cost per new connection, not per packet.
// `last` names the object whose entries go last: the traffic under test matches the last rules
// (the worst case; every rule is evaluated anyway, as labelling does not end the chain).

import type { Chain, Rule, Ruleset } from '../../src/compile/ir.js';
import { addrText, protocolName } from '../../src/emit/element-text.js';
import { statementText } from '../../src/emit/nft-text.js';

const ruleText = (rule: Rule): string => `${rule.statements.map(statementText).join(' ')} comment "${rule.comment}"`;

/** `ruleset` with counter objects and IPv4 connect entries only (what bench/generate.ts makes). */
export function linearNftText(ruleset: Ruleset, last: string): string {
  const t = `inet ${ruleset.table}`;
  const elements = ruleset.maps.flatMap((m) => m.elements);
  const ordered = [...elements.filter((e) => e.object !== last), ...elements.filter((e) => e.object === last)];
  const perEntry = ordered.map((e) => {
    const [addr, proto, port] = e.parts;
    if (addr?.kind !== 'addr' || proto?.kind !== 'proto' || port?.kind !== 'port') throw new Error('unexpected key');
    const a = addrText(addr);
    if (a.kind !== 'single' || port.from !== port.to) throw new Error('linear layout: single addresses and ports only');
    return `\t\tip daddr ${a.addr} ${protocolName(proto.value)} dport ${port.from} counter name "${e.object}"`;
  });
  // Base chains as secmarkc has them, the map lookup replaced by a jump to the linear chain.
  const base = (c: Chain): string[] => [
    `\tchain ${c.name} {`,
    `\t\ttype filter hook ${c.hook} priority ${c.priority}; policy ${c.policy};`,
    ...c.rules.map((r) =>
      r.statements.some((s) => s.kind === 'objref-map') ? '\t\tct state new jump label_new' : `\t\t${ruleText(r)}`,
    ),
    '\t}',
  ];
  return [
    `table ${t}`,
    `delete table ${t}`,
    `table ${t} {`,
    ...ruleset.objects.map((o) => `\tcounter ${o.name} {\n\t}`),
    '\tchain label_new {',
    ...perEntry,
    '\t}',
    ...ruleset.chains.flatMap(base),
    '}',
    '',
  ].join('\n');
}
