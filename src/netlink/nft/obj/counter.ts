// counter object (libnftnl src/obj/counter.c): named packet and byte counts. nft creates one
// with both set to zero; the kernel's dumps report the current values.

import { NFT_OBJECT_COUNTER, NFTA_COUNTER_BYTES, NFTA_COUNTER_PACKETS } from '../constants.js';
import type { CounterData, ObjOps } from './types.js';

export const counterObjOps: ObjOps<CounterData> = {
  kind: 'counter',
  type: NFT_OBJECT_COUNTER,
  encode(w, d) {
    w.attrU64(NFTA_COUNTER_BYTES, d.bytes);
    w.attrU64(NFTA_COUNTER_PACKETS, d.packets);
  },
  decode(a) {
    return { kind: 'counter', bytes: a.u64(NFTA_COUNTER_BYTES) ?? 0n, packets: a.u64(NFTA_COUNTER_PACKETS) ?? 0n };
  },
};
