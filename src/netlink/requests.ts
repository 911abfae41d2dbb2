// Read requests: the generation (NFT_MSG_GETGEN) and dumps of what our table holds, filtered
// by table where the kernel supports it (rules, sets, objects; set elements need the set).
// Tables and chains are dumped per family and filtered by the caller.

import { startNftMessage } from './nft/batch.js';
import {
  NFT_MSG_GETCHAIN,
  NFT_MSG_GETGEN,
  NFT_MSG_GETOBJ,
  NFT_MSG_GETRULE,
  NFT_MSG_GETSET,
  NFT_MSG_GETSETELEM,
  NFT_MSG_GETTABLE,
  NFTA_OBJ_TABLE,
  NFTA_OBJ_TYPE,
  NFTA_RULE_CHAIN,
  NFTA_RULE_TABLE,
  NFTA_SET_ELEM_LIST_SET,
  NFTA_SET_ELEM_LIST_TABLE,
  NFTA_SET_TABLE,
  NFTA_TABLE_NAME,
} from './nft/constants.js';
import { NFPROTO_INET, NFPROTO_UNSPEC, NLM_F_ACK, NLM_F_DUMP } from './wire/constants.js';
import { NetlinkWriter } from './wire/writer.js';

export interface RequestOptions {
  readonly seq: number;
  /** nfgen_family to dump (NFPROTO_UNSPEC: all families). Default NFPROTO_INET. */
  readonly family?: number;
}

function request(msg: number, flags: number, seq: number, family: number, body?: (w: NetlinkWriter) => void): Uint8Array {
  const w = new NetlinkWriter(256);
  const start = startNftMessage(w, msg, flags, seq, family);
  body?.(w);
  w.messageEnd(start);
  return w.bytes().slice();
}

/** NFT_MSG_GETGEN; the kernel answers NFT_MSG_NEWGEN with NFTA_GEN_ID. */
export function encodeGetGen(seq: number): Uint8Array {
  return request(NFT_MSG_GETGEN, 0, seq, NFPROTO_UNSPEC);
}

/** One table by name (answered by NEWTABLE, or ENOENT; NLM_F_ACK so a hit is also closed). */
export function encodeGetTable(o: RequestOptions & { readonly table: string }): Uint8Array {
  return request(NFT_MSG_GETTABLE, NLM_F_ACK, o.seq, o.family ?? NFPROTO_INET, (w) => w.attrStrz(NFTA_TABLE_NAME, o.table));
}

/** All tables of the family (the kernel does not filter table dumps by name). */
export function encodeDumpTables(o: RequestOptions): Uint8Array {
  return request(NFT_MSG_GETTABLE, NLM_F_DUMP, o.seq, o.family ?? NFPROTO_INET);
}

/** All chains of the family (no table filter in the kernel: filter the replies). */
export function encodeDumpChains(o: RequestOptions): Uint8Array {
  return request(NFT_MSG_GETCHAIN, NLM_F_DUMP, o.seq, o.family ?? NFPROTO_INET);
}

/** Rules, filtered by table (and chain) in the kernel. */
export function encodeDumpRules(o: RequestOptions & { readonly table?: string; readonly chain?: string }): Uint8Array {
  return request(NFT_MSG_GETRULE, NLM_F_DUMP, o.seq, o.family ?? NFPROTO_INET, (w) => {
    if (o.table !== undefined) w.attrStrz(NFTA_RULE_TABLE, o.table);
    if (o.chain !== undefined) w.attrStrz(NFTA_RULE_CHAIN, o.chain);
  });
}

/** Sets and maps, filtered by table in the kernel. */
export function encodeDumpSets(o: RequestOptions & { readonly table?: string }): Uint8Array {
  return request(NFT_MSG_GETSET, NLM_F_DUMP, o.seq, o.family ?? NFPROTO_INET, (w) => {
    if (o.table !== undefined) w.attrStrz(NFTA_SET_TABLE, o.table);
  });
}

/** The elements of one set (both names are required by the kernel); nft's attribute order. */
export function encodeDumpSetElements(o: RequestOptions & { readonly table: string; readonly set: string }): Uint8Array {
  return request(NFT_MSG_GETSETELEM, NLM_F_DUMP, o.seq, o.family ?? NFPROTO_INET, (w) => {
    w.attrStrz(NFTA_SET_ELEM_LIST_SET, o.set);
    w.attrStrz(NFTA_SET_ELEM_LIST_TABLE, o.table);
  });
}

/** Stateful objects (secmark, counter), filtered by table and optionally NFT_OBJECT_* type. */
export function encodeDumpObjects(o: RequestOptions & { readonly table?: string; readonly type?: number }): Uint8Array {
  return request(NFT_MSG_GETOBJ, NLM_F_DUMP, o.seq, o.family ?? NFPROTO_INET, (w) => {
    if (o.table !== undefined) w.attrStrz(NFTA_OBJ_TABLE, o.table);
    if (o.type !== undefined) w.attrU32(NFTA_OBJ_TYPE, o.type);
  });
}
