// cmp: compare a register with constant data; a false comparison ends the rule
// (libnftnl src/expr/cmp.c).

import { NFTA_CMP_DATA, NFTA_CMP_OP, NFTA_CMP_SREG } from '../constants.js';
import { need, readDataValue, writeDataValue } from './data.js';
import type { CmpExpr, ExprOps } from './types.js';

export const cmpOps: ExprOps<CmpExpr> = {
  name: 'cmp',
  encode(w, e) {
    w.attrU32(NFTA_CMP_SREG, e.sreg);
    w.attrU32(NFTA_CMP_OP, e.op);
    writeDataValue(w, NFTA_CMP_DATA, e.data);
  },
  decode(a) {
    return {
      kind: 'cmp',
      sreg: need(a.u32(NFTA_CMP_SREG), 'NFTA_CMP_SREG'),
      op: need(a.u32(NFTA_CMP_OP), 'NFTA_CMP_OP'),
      data: need(readDataValue(a, NFTA_CMP_DATA), 'NFTA_CMP_DATA'),
    };
  },
};
