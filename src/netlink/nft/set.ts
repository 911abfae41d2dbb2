// NFT_MSG_NEWSET payload (libnftnl src/set.c): a named set or map. Ours are object maps
// with concatenated interval keys: NFT_SET_INTERVAL | NFT_SET_OBJECT | NFT_SET_CONCAT and a
// NFTA_SET_DESC_CONCAT list of field lengths (which selects the pipapo backend).

import { AttrSet } from '../wire/attributes.js';
import { nfAttrRange, nfgenmsg, type NetlinkMessage } from '../wire/message.js';
import type { NetlinkWriter } from '../wire/writer.js';
import {
  NFTA_LIST_ELEM,
  NFTA_SET_DATA_LEN,
  NFTA_SET_DATA_TYPE,
  NFTA_SET_DESC,
  NFTA_SET_DESC_CONCAT,
  NFTA_SET_DESC_SIZE,
  NFTA_SET_FIELD_LEN,
  NFTA_SET_FLAGS,
  NFTA_SET_HANDLE,
  NFTA_SET_ID,
  NFTA_SET_KEY_LEN,
  NFTA_SET_KEY_TYPE,
  NFTA_SET_NAME,
  NFTA_SET_OBJ_TYPE,
  NFTA_SET_POLICY,
  NFTA_SET_TABLE,
  NFTA_SET_USERDATA,
} from './constants.js';

export interface NftSet {
  readonly family: number;
  /** NFTA_SET_TABLE */
  readonly table: string;
  /** NFTA_SET_NAME */
  readonly name: string;
  /** NFTA_SET_HANDLE */
  readonly handle?: bigint;
  /** NFTA_SET_FLAGS (NFT_SET_*) */
  readonly flags: number;
  /** NFTA_SET_KEY_TYPE: nft's datatype id (concatenations folded by TYPE_BITS) */
  readonly keyType: number;
  /** NFTA_SET_KEY_LEN: bytes, each concatenated field padded to 4 */
  readonly keyLen: number;
  /** NFTA_SET_DATA_TYPE / NFTA_SET_DATA_LEN (data maps only) */
  readonly dataType?: number;
  readonly dataLen?: number;
  /** NFTA_SET_OBJ_TYPE (NFT_OBJECT_*, object maps only) */
  readonly objType?: number;
  /** NFTA_SET_ID: names the set within one transaction before it has a handle */
  readonly id?: number;
  /** NFTA_SET_POLICY */
  readonly policy?: number;
  /** NFTA_SET_DESC { NFTA_SET_DESC_SIZE, NFTA_SET_DESC_CONCAT { field lengths } } */
  readonly desc?: { readonly size?: number; readonly concat?: readonly number[] };
  /** NFTA_SET_USERDATA */
  readonly userdata?: Uint8Array;
}

/** Attribute order as nft 1.0.6 sends it. */
export function encodeSet(w: NetlinkWriter, s: NftSet): void {
  w.attrStrz(NFTA_SET_TABLE, s.table);
  w.attrStrz(NFTA_SET_NAME, s.name);
  if (s.handle !== undefined) w.attrU64(NFTA_SET_HANDLE, s.handle);
  w.attrU32(NFTA_SET_FLAGS, s.flags);
  w.attrU32(NFTA_SET_KEY_TYPE, s.keyType);
  w.attrU32(NFTA_SET_KEY_LEN, s.keyLen);
  if (s.dataType !== undefined) w.attrU32(NFTA_SET_DATA_TYPE, s.dataType);
  if (s.dataLen !== undefined) w.attrU32(NFTA_SET_DATA_LEN, s.dataLen);
  if (s.objType !== undefined) w.attrU32(NFTA_SET_OBJ_TYPE, s.objType);
  if (s.id !== undefined) w.attrU32(NFTA_SET_ID, s.id);
  if (s.policy !== undefined) w.attrU32(NFTA_SET_POLICY, s.policy);
  if (s.desc !== undefined) {
    const desc = w.nestStart(NFTA_SET_DESC);
    if (s.desc.size !== undefined) w.attrU32(NFTA_SET_DESC_SIZE, s.desc.size);
    if (s.desc.concat !== undefined) {
      const concat = w.nestStart(NFTA_SET_DESC_CONCAT);
      for (const len of s.desc.concat) {
        const field = w.nestStart(NFTA_LIST_ELEM);
        w.attrU32(NFTA_SET_FIELD_LEN, len);
        w.nestEnd(field);
      }
      w.nestEnd(concat);
    }
    w.nestEnd(desc);
  }
  if (s.userdata !== undefined) w.attrBytes(NFTA_SET_USERDATA, s.userdata);
}

export function decodeSet(msg: NetlinkMessage): NftSet {
  const { start, end } = nfAttrRange(msg);
  const a = new AttrSet(msg.buf, start, end);
  const table = a.str(NFTA_SET_TABLE);
  const name = a.str(NFTA_SET_NAME);
  if (table === undefined || name === undefined) throw new Error('set without NFTA_SET_TABLE or NFTA_SET_NAME');
  const handle = a.u64(NFTA_SET_HANDLE);
  const dataType = a.u32(NFTA_SET_DATA_TYPE);
  const dataLen = a.u32(NFTA_SET_DATA_LEN);
  const objType = a.u32(NFTA_SET_OBJ_TYPE);
  const id = a.u32(NFTA_SET_ID);
  const policy = a.u32(NFTA_SET_POLICY);
  const userdata = a.bytes(NFTA_SET_USERDATA);
  const descAttrs = a.nested(NFTA_SET_DESC);
  let desc: NftSet['desc'];
  if (descAttrs) {
    const size = descAttrs.u32(NFTA_SET_DESC_SIZE);
    const concatAttrs = descAttrs.nested(NFTA_SET_DESC_CONCAT);
    const concat = concatAttrs?.list.map((f) => AttrSet.of(msg.buf, f).u32(NFTA_SET_FIELD_LEN) ?? 0);
    desc = { ...(size !== undefined ? { size } : {}), ...(concat !== undefined ? { concat } : {}) };
  }
  return {
    family: nfgenmsg(msg).family,
    table,
    name,
    ...(handle !== undefined ? { handle } : {}),
    flags: a.u32(NFTA_SET_FLAGS) ?? 0,
    keyType: a.u32(NFTA_SET_KEY_TYPE) ?? 0,
    keyLen: a.u32(NFTA_SET_KEY_LEN) ?? 0,
    ...(dataType !== undefined ? { dataType } : {}),
    ...(dataLen !== undefined ? { dataLen } : {}),
    ...(objType !== undefined ? { objType } : {}),
    ...(id !== undefined ? { id } : {}),
    ...(policy !== undefined ? { policy } : {}),
    ...(desc !== undefined ? { desc } : {}),
    ...(userdata !== undefined ? { userdata } : {}),
  };
}
