// bitwise: dreg = (sreg & mask) ^ xor over `len` bytes (libnftnl src/expr/bitwise.c).
// nft 1.0.6 sends no NFTA_BITWISE_OP for this boolean form; the kernel defaults to NFT_BITWISE_BOOL.

import { NFTA_BITWISE_DREG, NFTA_BITWISE_LEN, NFTA_BITWISE_MASK, NFTA_BITWISE_SREG, NFTA_BITWISE_XOR } from '../constants.js';
import { need, readDataValue, writeDataValue } from './data.js';
import type { BitwiseExpr, ExprOps } from './types.js';

export const bitwiseOps: ExprOps<BitwiseExpr> = {
  name: 'bitwise',
  encode(w, e) {
    w.attrU32(NFTA_BITWISE_SREG, e.sreg);
    w.attrU32(NFTA_BITWISE_DREG, e.dreg);
    w.attrU32(NFTA_BITWISE_LEN, e.len);
    writeDataValue(w, NFTA_BITWISE_MASK, e.mask);
    writeDataValue(w, NFTA_BITWISE_XOR, e.xor);
  },
  decode(a) {
    return {
      kind: 'bitwise',
      sreg: need(a.u32(NFTA_BITWISE_SREG), 'NFTA_BITWISE_SREG'),
      dreg: need(a.u32(NFTA_BITWISE_DREG), 'NFTA_BITWISE_DREG'),
      len: need(a.u32(NFTA_BITWISE_LEN), 'NFTA_BITWISE_LEN'),
      mask: need(readDataValue(a, NFTA_BITWISE_MASK), 'NFTA_BITWISE_MASK'),
      xor: need(readDataValue(a, NFTA_BITWISE_XOR), 'NFTA_BITWISE_XOR'),
    };
  },
};
