// NFT_MSG_NEWTABLE / DELTABLE / GETTABLE payload (libnftnl src/table.c).

import { AttrSet } from '../wire/attributes.js';
import { nfAttrRange, nfgenmsg, type NetlinkMessage } from '../wire/message.js';
import type { NetlinkWriter } from '../wire/writer.js';
import { NFTA_TABLE_FLAGS, NFTA_TABLE_HANDLE, NFTA_TABLE_NAME, NFTA_TABLE_OWNER, NFTA_TABLE_USE, NFTA_TABLE_USERDATA } from './constants.js';

export interface NftTable {
  /** nfgen_family (NFPROTO_*) */
  readonly family: number;
  /** NFTA_TABLE_NAME */
  readonly name: string;
  /** NFTA_TABLE_FLAGS (NFT_TABLE_F_*) */
  readonly flags?: number;
  /** NFTA_TABLE_HANDLE */
  readonly handle?: bigint;
  /** NFTA_TABLE_USE: number of chains */
  readonly use?: number;
  /** NFTA_TABLE_OWNER: netlink port id of the owning socket */
  readonly owner?: number;
  readonly userdata?: Uint8Array;
}

/** The attributes: name, then flags when given (DELTABLE and GETTABLE send the name only). */
export function encodeTable(w: NetlinkWriter, t: NftTable): void {
  w.attrStrz(NFTA_TABLE_NAME, t.name);
  if (t.flags !== undefined) w.attrU32(NFTA_TABLE_FLAGS, t.flags);
  if (t.handle !== undefined) w.attrU64(NFTA_TABLE_HANDLE, t.handle);
  if (t.userdata !== undefined) w.attrBytes(NFTA_TABLE_USERDATA, t.userdata);
}

export function decodeTable(msg: NetlinkMessage): NftTable {
  const { start, end } = nfAttrRange(msg);
  const a = new AttrSet(msg.buf, start, end);
  const name = a.str(NFTA_TABLE_NAME);
  if (name === undefined) throw new Error('table without NFTA_TABLE_NAME');
  const flags = a.u32(NFTA_TABLE_FLAGS);
  const handle = a.u64(NFTA_TABLE_HANDLE);
  const use = a.u32(NFTA_TABLE_USE);
  const owner = a.u32(NFTA_TABLE_OWNER);
  const userdata = a.bytes(NFTA_TABLE_USERDATA);
  return {
    family: nfgenmsg(msg).family,
    name,
    ...(flags !== undefined ? { flags } : {}),
    ...(handle !== undefined ? { handle } : {}),
    ...(use !== undefined ? { use } : {}),
    ...(owner !== undefined ? { owner } : {}),
    ...(userdata !== undefined ? { userdata } : {}),
  };
}
