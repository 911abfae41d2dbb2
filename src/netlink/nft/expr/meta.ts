// meta: load packet metadata into a register (dreg) or set it from one (sreg)
// (libnftnl src/expr/meta.c). `meta secmark set ...` is the sreg form with NFT_META_SECMARK.

import { NFTA_META_DREG, NFTA_META_KEY, NFTA_META_SREG } from '../constants.js';
import { need } from './data.js';
import type { ExprOps, MetaExpr } from './types.js';

export const metaOps: ExprOps<MetaExpr> = {
  name: 'meta',
  encode(w, e) {
    w.attrU32(NFTA_META_KEY, e.key);
    if (e.dreg !== undefined) w.attrU32(NFTA_META_DREG, e.dreg);
    if (e.sreg !== undefined) w.attrU32(NFTA_META_SREG, e.sreg);
  },
  decode(a) {
    const dreg = a.u32(NFTA_META_DREG);
    const sreg = a.u32(NFTA_META_SREG);
    return {
      kind: 'meta',
      key: need(a.u32(NFTA_META_KEY), 'NFTA_META_KEY'),
      ...(dreg !== undefined ? { dreg } : {}),
      ...(sreg !== undefined ? { sreg } : {}),
    };
  },
};
