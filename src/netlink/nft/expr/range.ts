// range: sreg within [from, to] (libnftnl src/expr/range.c). nft 1.0.6 linearizes
// `icmpv6 type 133-137` as two cmp (gte, lte) instead, so we only decode and round-trip it.

import { NFTA_RANGE_FROM_DATA, NFTA_RANGE_OP, NFTA_RANGE_SREG, NFTA_RANGE_TO_DATA } from '../constants.js';
import { need, readDataValue, writeDataValue } from './data.js';
import type { ExprOps, RangeExpr } from './types.js';

export const rangeOps: ExprOps<RangeExpr> = {
  name: 'range',
  encode(w, e) {
    w.attrU32(NFTA_RANGE_SREG, e.sreg);
    w.attrU32(NFTA_RANGE_OP, e.op);
    writeDataValue(w, NFTA_RANGE_FROM_DATA, e.from);
    writeDataValue(w, NFTA_RANGE_TO_DATA, e.to);
  },
  decode(a) {
    return {
      kind: 'range',
      sreg: need(a.u32(NFTA_RANGE_SREG), 'NFTA_RANGE_SREG'),
      op: need(a.u32(NFTA_RANGE_OP), 'NFTA_RANGE_OP'),
      from: need(readDataValue(a, NFTA_RANGE_FROM_DATA), 'NFTA_RANGE_FROM_DATA'),
      to: need(readDataValue(a, NFTA_RANGE_TO_DATA), 'NFTA_RANGE_TO_DATA'),
    };
  },
};
