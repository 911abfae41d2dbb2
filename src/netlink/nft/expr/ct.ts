// ct: load conntrack data into a register (dreg) or set it from one (sreg)
// (libnftnl src/expr/ct.c). `ct secmark set meta secmark` is the sreg form with NFT_CT_SECMARK.

import { NFTA_CT_DIRECTION, NFTA_CT_DREG, NFTA_CT_KEY, NFTA_CT_SREG } from '../constants.js';
import { need } from './data.js';
import type { CtExpr, ExprOps } from './types.js';

export const ctOps: ExprOps<CtExpr> = {
  name: 'ct',
  encode(w, e) {
    w.attrU32(NFTA_CT_KEY, e.key);
    if (e.dreg !== undefined) w.attrU32(NFTA_CT_DREG, e.dreg);
    if (e.direction !== undefined) w.attrU8(NFTA_CT_DIRECTION, e.direction);
    if (e.sreg !== undefined) w.attrU32(NFTA_CT_SREG, e.sreg);
  },
  decode(a) {
    const dreg = a.u32(NFTA_CT_DREG);
    const sreg = a.u32(NFTA_CT_SREG);
    const direction = a.u8(NFTA_CT_DIRECTION);
    return {
      kind: 'ct',
      key: need(a.u32(NFTA_CT_KEY), 'NFTA_CT_KEY'),
      ...(dreg !== undefined ? { dreg } : {}),
      ...(sreg !== undefined ? { sreg } : {}),
      ...(direction !== undefined ? { direction } : {}),
    };
  },
};
