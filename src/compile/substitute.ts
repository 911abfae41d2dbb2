// The same ruleset with counter objects standing in for secmark objects. A kernel without an
// LSM refuses secmark objects (ENOENT), but accepts this structurally identical ruleset: same
// maps, same lookups, same objref expressions. Host tests and benchmarks load it.

import type { ObjectMap, Ruleset, Statement } from './ir.js';

/** Maps of any form that names its object type (a record's maps may hold rows instead of elements). */
type Maps<M> = Omit<Ruleset, 'maps'> & { readonly maps: readonly M[] };

export function withCounterObjects<M extends Pick<ObjectMap, 'data'> = ObjectMap>(ruleset: Maps<M>): Maps<M> {
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
