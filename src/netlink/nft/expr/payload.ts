// payload: load `len` bytes at `offset` from a header base into a register (libnftnl src/expr/payload.c).

import { NFTA_PAYLOAD_BASE, NFTA_PAYLOAD_DREG, NFTA_PAYLOAD_LEN, NFTA_PAYLOAD_OFFSET } from '../constants.js';
import { need } from './data.js';
import type { ExprOps, PayloadExpr } from './types.js';

export const payloadOps: ExprOps<PayloadExpr> = {
  name: 'payload',
  encode(w, e) {
    w.attrU32(NFTA_PAYLOAD_DREG, e.dreg);
    w.attrU32(NFTA_PAYLOAD_BASE, e.base);
    w.attrU32(NFTA_PAYLOAD_OFFSET, e.offset);
    w.attrU32(NFTA_PAYLOAD_LEN, e.len);
  },
  decode(a) {
    return {
      kind: 'payload',
      dreg: need(a.u32(NFTA_PAYLOAD_DREG), 'NFTA_PAYLOAD_DREG'),
      base: need(a.u32(NFTA_PAYLOAD_BASE), 'NFTA_PAYLOAD_BASE'),
      offset: need(a.u32(NFTA_PAYLOAD_OFFSET), 'NFTA_PAYLOAD_OFFSET'),
      len: need(a.u32(NFTA_PAYLOAD_LEN), 'NFTA_PAYLOAD_LEN'),
    };
  },
};
