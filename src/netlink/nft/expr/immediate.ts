// immediate: load constant data or a verdict into a register (libnftnl src/expr/immediate.c).

import { NFTA_IMMEDIATE_DATA, NFTA_IMMEDIATE_DREG } from '../constants.js';
import { need, readData, writeData } from './data.js';
import type { ExprOps, ImmediateExpr } from './types.js';

export const immediateOps: ExprOps<ImmediateExpr> = {
  name: 'immediate',
  encode(w, e) {
    w.attrU32(NFTA_IMMEDIATE_DREG, e.dreg);
    writeData(w, NFTA_IMMEDIATE_DATA, e.data);
  },
  decode(a) {
    return {
      kind: 'immediate',
      dreg: need(a.u32(NFTA_IMMEDIATE_DREG), 'NFTA_IMMEDIATE_DREG'),
      data: need(readData(a, NFTA_IMMEDIATE_DATA), 'NFTA_IMMEDIATE_DATA'),
    };
  },
};
