// NFT_MSG_NEWCHAIN payload (libnftnl src/chain.c). Base chains only: type, hook, priority, policy.

import { AttrSet } from '../wire/attributes.js';
import { nfAttrRange, nfgenmsg, type NetlinkMessage } from '../wire/message.js';
import type { NetlinkWriter } from '../wire/writer.js';
import {
  NFTA_CHAIN_FLAGS,
  NFTA_CHAIN_HANDLE,
  NFTA_CHAIN_HOOK,
  NFTA_CHAIN_NAME,
  NFTA_CHAIN_POLICY,
  NFTA_CHAIN_TABLE,
  NFTA_CHAIN_TYPE,
  NFTA_CHAIN_USE,
  NFTA_HOOK_HOOKNUM,
  NFTA_HOOK_PRIORITY,
} from './constants.js';

export interface NftChain {
  readonly family: number;
  /** NFTA_CHAIN_TABLE */
  readonly table: string;
  /** NFTA_CHAIN_NAME */
  readonly name: string;
  /** NFTA_CHAIN_HANDLE */
  readonly handle?: bigint;
  /** NFTA_CHAIN_TYPE, e.g. `filter` */
  readonly type?: string;
  /** NFTA_CHAIN_POLICY (NF_ACCEPT / NF_DROP) */
  readonly policy?: number;
  /** NFTA_CHAIN_HOOK { NFTA_HOOK_HOOKNUM (NF_INET_*), NFTA_HOOK_PRIORITY (s32) } */
  readonly hook?: { readonly hooknum: number; readonly priority: number };
  /** NFTA_CHAIN_USE: number of rules */
  readonly use?: number;
  /** NFTA_CHAIN_FLAGS */
  readonly flags?: number;
}

/** Attribute order as nft 1.0.6 sends it: table, name, type, policy, hook. */
export function encodeChain(w: NetlinkWriter, c: NftChain): void {
  w.attrStrz(NFTA_CHAIN_TABLE, c.table);
  if (c.handle !== undefined) w.attrU64(NFTA_CHAIN_HANDLE, c.handle);
  w.attrStrz(NFTA_CHAIN_NAME, c.name);
  if (c.type !== undefined) w.attrStrz(NFTA_CHAIN_TYPE, c.type);
  if (c.policy !== undefined) w.attrU32(NFTA_CHAIN_POLICY, c.policy);
  if (c.hook !== undefined) {
    const nest = w.nestStart(NFTA_CHAIN_HOOK);
    w.attrU32(NFTA_HOOK_HOOKNUM, c.hook.hooknum);
    w.attrU32(NFTA_HOOK_PRIORITY, c.hook.priority);
    w.nestEnd(nest);
  }
  if (c.flags !== undefined) w.attrU32(NFTA_CHAIN_FLAGS, c.flags);
}

export function decodeChain(msg: NetlinkMessage): NftChain {
  const { start, end } = nfAttrRange(msg);
  const a = new AttrSet(msg.buf, start, end);
  const table = a.str(NFTA_CHAIN_TABLE);
  const name = a.str(NFTA_CHAIN_NAME);
  if (table === undefined || name === undefined) throw new Error('chain without NFTA_CHAIN_TABLE or NFTA_CHAIN_NAME');
  const handle = a.u64(NFTA_CHAIN_HANDLE);
  const type = a.str(NFTA_CHAIN_TYPE);
  const policy = a.u32(NFTA_CHAIN_POLICY);
  const hookAttrs = a.nested(NFTA_CHAIN_HOOK);
  const hooknum = hookAttrs?.u32(NFTA_HOOK_HOOKNUM);
  const priority = hookAttrs?.s32(NFTA_HOOK_PRIORITY);
  const use = a.u32(NFTA_CHAIN_USE);
  const flags = a.u32(NFTA_CHAIN_FLAGS);
  return {
    family: nfgenmsg(msg).family,
    table,
    name,
    ...(handle !== undefined ? { handle } : {}),
    ...(type !== undefined ? { type } : {}),
    ...(policy !== undefined ? { policy } : {}),
    ...(hooknum !== undefined && priority !== undefined ? { hook: { hooknum, priority } } : {}),
    ...(use !== undefined ? { use } : {}),
    ...(flags !== undefined ? { flags } : {}),
  };
}
