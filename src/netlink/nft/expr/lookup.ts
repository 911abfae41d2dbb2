// lookup: match (or map, with dreg) the key in sreg against a set (libnftnl src/expr/lookup.c).
// Not emitted for our rulesets (objref does the map lookup) but decoded from foreign rules.

import { NFTA_LOOKUP_DREG, NFTA_LOOKUP_FLAGS, NFTA_LOOKUP_SET, NFTA_LOOKUP_SET_ID, NFTA_LOOKUP_SREG } from '../constants.js';
import { need } from './data.js';
import type { ExprOps, LookupExpr } from './types.js';

export const lookupOps: ExprOps<LookupExpr> = {
  name: 'lookup',
  encode(w, e) {
    w.attrU32(NFTA_LOOKUP_SREG, e.sreg);
    if (e.dreg !== undefined) w.attrU32(NFTA_LOOKUP_DREG, e.dreg);
    w.attrStrz(NFTA_LOOKUP_SET, e.set);
    if (e.setId !== undefined) w.attrU32(NFTA_LOOKUP_SET_ID, e.setId);
    if (e.flags !== undefined) w.attrU32(NFTA_LOOKUP_FLAGS, e.flags);
  },
  decode(a) {
    const setId = a.u32(NFTA_LOOKUP_SET_ID);
    const dreg = a.u32(NFTA_LOOKUP_DREG);
    const flags = a.u32(NFTA_LOOKUP_FLAGS);
    return {
      kind: 'lookup',
      set: need(a.str(NFTA_LOOKUP_SET), 'NFTA_LOOKUP_SET'),
      sreg: need(a.u32(NFTA_LOOKUP_SREG), 'NFTA_LOOKUP_SREG'),
      ...(setId !== undefined ? { setId } : {}),
      ...(dreg !== undefined ? { dreg } : {}),
      ...(flags !== undefined ? { flags } : {}),
    };
  },
};
