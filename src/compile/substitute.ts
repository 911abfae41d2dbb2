// The same ruleset with counter objects standing in for secmark objects. A kernel without an
// LSM refuses secmark objects (ENOENT), but accepts this structurally identical ruleset: same
// maps, same lookups, same objref expressions. Host tests and benchmarks load it.

import type { Ruleset, Statement } from './ir.js';

export function withCounterObjects(ruleset: Ruleset): Ruleset {
  return {
    ...ruleset,
    objects: ruleset.objects.map((o) => ({ kind: 'counter', name: o.name, span: o.span })),
    maps: ruleset.maps.map((m) => ({ ...m, data: 'counter' })),
    chains: ruleset.chains.map((c) => ({
      ...c,
      rules: c.rules.map((r) => ({ ...r, statements: r.statements.map(substitute) })),
    })),
  };
}

function substitute(s: Statement): Statement {
  return s.kind === 'objref' || s.kind === 'objref-map' ? { ...s, objType: 'counter' } : s;
}
