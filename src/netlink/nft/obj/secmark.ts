// secmark object (libnftnl src/obj/secmark.c): the SELinux context that `meta secmark set`
// puts on packets. nft sends the context without a NUL (mnl_attr_put_str); the kernel's
// dumps add one (nla_put_string); decoding drops it.

import { NFT_OBJECT_SECMARK, NFTA_SECMARK_CTX } from '../constants.js';
import type { ObjOps, SecmarkData } from './types.js';

export const secmarkOps: ObjOps<SecmarkData> = {
  kind: 'secmark',
  type: NFT_OBJECT_SECMARK,
  encode(w, d) {
    w.attrStr(NFTA_SECMARK_CTX, d.context);
  },
  decode(a) {
    return { kind: 'secmark', context: a.str(NFTA_SECMARK_CTX) ?? '' };
  },
};
