// counter: an anonymous per-rule packet/byte counter (libnftnl src/expr/counter.c).
// nft sends it with no attributes (start at zero); the kernel's dumps carry both values.

import { NFTA_COUNTER_BYTES, NFTA_COUNTER_PACKETS } from '../constants.js';
import type { CounterExpr, ExprOps } from './types.js';

export const counterOps: ExprOps<CounterExpr> = {
  name: 'counter',
  encode(w, e) {
    if (e.bytes !== undefined) w.attrU64(NFTA_COUNTER_BYTES, e.bytes);
    if (e.packets !== undefined) w.attrU64(NFTA_COUNTER_PACKETS, e.packets);
  },
  decode(a) {
    const bytes = a.u64(NFTA_COUNTER_BYTES);
    const packets = a.u64(NFTA_COUNTER_PACKETS);
    return { kind: 'counter', ...(bytes !== undefined ? { bytes } : {}), ...(packets !== undefined ? { packets } : {}) };
  },
};
