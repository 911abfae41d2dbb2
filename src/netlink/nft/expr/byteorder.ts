// byteorder: convert `len` bytes of `size`-byte words between host and network order
// (libnftnl src/expr/byteorder.c). nft emits one after `meta l4proto` inside a concatenation.

import { NFTA_BYTEORDER_DREG, NFTA_BYTEORDER_LEN, NFTA_BYTEORDER_OP, NFTA_BYTEORDER_SIZE, NFTA_BYTEORDER_SREG } from '../constants.js';
import { need } from './data.js';
import type { ByteorderExpr, ExprOps } from './types.js';

export const byteorderOps: ExprOps<ByteorderExpr> = {
  name: 'byteorder',
  encode(w, e) {
    w.attrU32(NFTA_BYTEORDER_SREG, e.sreg);
    w.attrU32(NFTA_BYTEORDER_DREG, e.dreg);
    w.attrU32(NFTA_BYTEORDER_OP, e.op);
    w.attrU32(NFTA_BYTEORDER_LEN, e.len);
    w.attrU32(NFTA_BYTEORDER_SIZE, e.size);
  },
  decode(a) {
    return {
      kind: 'byteorder',
      sreg: need(a.u32(NFTA_BYTEORDER_SREG), 'NFTA_BYTEORDER_SREG'),
      dreg: need(a.u32(NFTA_BYTEORDER_DREG), 'NFTA_BYTEORDER_DREG'),
      op: need(a.u32(NFTA_BYTEORDER_OP), 'NFTA_BYTEORDER_OP'),
      len: need(a.u32(NFTA_BYTEORDER_LEN), 'NFTA_BYTEORDER_LEN'),
      size: need(a.u32(NFTA_BYTEORDER_SIZE), 'NFTA_BYTEORDER_SIZE'),
    };
  },
};
