// What the kernel sends back, decoded into plain typed objects: dump replies (NEW* messages
// with NLM_F_MULTI), NEWGEN, NLMSG_ERROR (errors and ACKs) and NLMSG_DONE.

import { NFT_MSG_DELCHAIN, NFT_MSG_DELOBJ, NFT_MSG_DELRULE, NFT_MSG_DELSET, NFT_MSG_DELSETELEM, NFT_MSG_DELTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_NEWGEN, NFT_MSG_NEWOBJ, NFT_MSG_NEWRULE, NFT_MSG_NEWSET, NFT_MSG_NEWSETELEM, NFT_MSG_NEWTABLE } from '../nft/constants.js';
import { decodeChain, type NftChain } from '../nft/chain.js';
import { decodeGen, type NftGen } from '../nft/gen.js';
import { decodeObj, type NftObj } from '../nft/obj.js';
import { decodeRule, type NftRule } from '../nft/rule.js';
import { decodeSet, type NftSet } from '../nft/set.js';
import { decodeSetElemList, type NftSetElemList } from '../nft/set-elem.js';
import { decodeTable, type NftTable } from '../nft/table.js';
import { NFNL_MSG_TYPE, NFNL_SUBSYS_ID, NFNL_SUBSYS_NFTABLES, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN } from '../wire/constants.js';
import { decodeNlmsgerr, type NetlinkError } from '../wire/error.js';
import type { NetlinkMessage } from '../wire/message.js';

interface Common {
  readonly seq: number;
  readonly flags: number;
}

export type DecodedMessage = Common &
  (
    | { readonly kind: 'table'; readonly deleted: boolean; readonly table: NftTable }
    | { readonly kind: 'chain'; readonly deleted: boolean; readonly chain: NftChain }
    | { readonly kind: 'rule'; readonly deleted: boolean; readonly rule: NftRule }
    | { readonly kind: 'set'; readonly deleted: boolean; readonly set: NftSet }
    | { readonly kind: 'setelem'; readonly deleted: boolean; readonly elements: NftSetElemList }
    | { readonly kind: 'obj'; readonly deleted: boolean; readonly obj: NftObj }
    | { readonly kind: 'gen'; readonly gen: NftGen }
    /** NLMSG_ERROR with errno 0 is an ACK; anything else an error. */
    | { readonly kind: 'error'; readonly error: NetlinkError }
    | { readonly kind: 'done' }
    /** Anything else (NOOP, OVERRUN, other subsystems, message types we do not decode). */
    | { readonly kind: 'other'; readonly type: number }
  );

export function decodeMessage(msg: NetlinkMessage): DecodedMessage {
  const common = { seq: msg.seq, flags: msg.flags };
  switch (msg.type) {
    case NLMSG_ERROR:
      return { ...common, kind: 'error', error: decodeNlmsgerr(msg) };
    case NLMSG_DONE:
      return { ...common, kind: 'done' };
    case NLMSG_NOOP:
    case NLMSG_OVERRUN:
      return { ...common, kind: 'other', type: msg.type };
  }
  if (NFNL_SUBSYS_ID(msg.type) !== NFNL_SUBSYS_NFTABLES) return { ...common, kind: 'other', type: msg.type };
  switch (NFNL_MSG_TYPE(msg.type)) {
    case NFT_MSG_NEWTABLE:
    case NFT_MSG_DELTABLE:
      return { ...common, kind: 'table', deleted: NFNL_MSG_TYPE(msg.type) === NFT_MSG_DELTABLE, table: decodeTable(msg) };
    case NFT_MSG_NEWCHAIN:
    case NFT_MSG_DELCHAIN:
      return { ...common, kind: 'chain', deleted: NFNL_MSG_TYPE(msg.type) === NFT_MSG_DELCHAIN, chain: decodeChain(msg) };
    case NFT_MSG_NEWRULE:
    case NFT_MSG_DELRULE:
      return { ...common, kind: 'rule', deleted: NFNL_MSG_TYPE(msg.type) === NFT_MSG_DELRULE, rule: decodeRule(msg) };
    case NFT_MSG_NEWSET:
    case NFT_MSG_DELSET:
      return { ...common, kind: 'set', deleted: NFNL_MSG_TYPE(msg.type) === NFT_MSG_DELSET, set: decodeSet(msg) };
    case NFT_MSG_NEWSETELEM:
    case NFT_MSG_DELSETELEM:
      return { ...common, kind: 'setelem', deleted: NFNL_MSG_TYPE(msg.type) === NFT_MSG_DELSETELEM, elements: decodeSetElemList(msg) };
    case NFT_MSG_NEWOBJ:
    case NFT_MSG_DELOBJ:
      return { ...common, kind: 'obj', deleted: NFNL_MSG_TYPE(msg.type) === NFT_MSG_DELOBJ, obj: decodeObj(msg) };
    case NFT_MSG_NEWGEN:
      return { ...common, kind: 'gen', gen: decodeGen(msg) };
    default:
      return { ...common, kind: 'other', type: msg.type };
  }
}

/** NEWSETELEM or DELSETELEM: a set element list, what dumps of large maps are made of (read in place by ElementSet). */
export function isSetElemMessage(msg: NetlinkMessage): boolean {
  if (NFNL_SUBSYS_ID(msg.type) !== NFNL_SUBSYS_NFTABLES) return false;
  const type = NFNL_MSG_TYPE(msg.type);
  return type === NFT_MSG_NEWSETELEM || type === NFT_MSG_DELSETELEM;
}
