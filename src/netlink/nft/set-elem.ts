// NFT_MSG_NEWSETELEM payload (libnftnl src/set_elem.c): the set (by name, and by
// NFTA_SET_ELEM_LIST_SET_ID when it is created in the same batch) and a list of elements.
// libnftnl numbers the element nests 1, 2, 3... instead of NFTA_LIST_ELEM; the kernel ignores
// the type. We number them within each message (nft keeps counting across messages and
// wraps into the NLA_F_* bits after 16383).

import { AttrSet } from '../wire/attributes.js';
import { nfAttrRange, nfgenmsg, type NetlinkMessage } from '../wire/message.js';
import type { NetlinkWriter } from '../wire/writer.js';
import {
  NFTA_SET_ELEM_DATA,
  NFTA_SET_ELEM_EXPIRATION,
  NFTA_SET_ELEM_FLAGS,
  NFTA_SET_ELEM_KEY,
  NFTA_SET_ELEM_KEY_END,
  NFTA_SET_ELEM_LIST_ELEMENTS,
  NFTA_SET_ELEM_LIST_SET,
  NFTA_SET_ELEM_LIST_SET_ID,
  NFTA_SET_ELEM_LIST_TABLE,
  NFTA_SET_ELEM_OBJREF,
  NFTA_SET_ELEM_TIMEOUT,
  NFTA_SET_ELEM_USERDATA,
} from './constants.js';
import { readData, readDataValue, writeData, writeDataValue } from './expr/data.js';
import type { NftData } from './expr/types.js';

export interface NftSetElem {
  /** NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE } */
  readonly key?: Uint8Array;
  /** NFTA_SET_ELEM_KEY_END { NFTA_DATA_VALUE }: last key of an interval (concatenated sets) */
  readonly keyEnd?: Uint8Array;
  /** NFTA_SET_ELEM_FLAGS (NFT_SET_ELEM_*) */
  readonly flags?: number;
  /** NFTA_SET_ELEM_DATA (data maps) */
  readonly data?: NftData;
  /** NFTA_SET_ELEM_OBJREF: object name (object maps) */
  readonly objref?: string;
  readonly timeout?: bigint;
  readonly expiration?: bigint;
  readonly userdata?: Uint8Array;
}

export interface NftSetElemList {
  readonly family: number;
  /** NFTA_SET_ELEM_LIST_TABLE */
  readonly table: string;
  /** NFTA_SET_ELEM_LIST_SET */
  readonly set: string;
  /** NFTA_SET_ELEM_LIST_SET_ID */
  readonly setId?: number;
  /** NFTA_SET_ELEM_LIST_ELEMENTS */
  readonly elements: readonly NftSetElem[];
}

/** Table, set name, set id: the attributes before the element list. */
export function encodeSetElemListHeader(w: NetlinkWriter, table: string, set: string, setId?: number): void {
  w.attrStrz(NFTA_SET_ELEM_LIST_TABLE, table);
  w.attrStrz(NFTA_SET_ELEM_LIST_SET, set);
  if (setId !== undefined) w.attrU32(NFTA_SET_ELEM_LIST_SET_ID, setId);
}

/** One element nest; `index` is its nest type (1-based position in the message). */
export function encodeSetElem(w: NetlinkWriter, index: number, e: NftSetElem): number {
  const nest = w.nestStart(index);
  if (e.flags !== undefined) w.attrU32(NFTA_SET_ELEM_FLAGS, e.flags);
  if (e.timeout !== undefined) w.attrU64(NFTA_SET_ELEM_TIMEOUT, e.timeout);
  if (e.key !== undefined) writeDataValue(w, NFTA_SET_ELEM_KEY, e.key);
  if (e.keyEnd !== undefined) writeDataValue(w, NFTA_SET_ELEM_KEY_END, e.keyEnd);
  if (e.data !== undefined) writeData(w, NFTA_SET_ELEM_DATA, e.data);
  if (e.objref !== undefined) w.attrStrz(NFTA_SET_ELEM_OBJREF, e.objref);
  if (e.userdata !== undefined) w.attrBytes(NFTA_SET_ELEM_USERDATA, e.userdata);
  w.nestEnd(nest);
  return nest;
}

export function encodeSetElemList(w: NetlinkWriter, l: NftSetElemList): void {
  encodeSetElemListHeader(w, l.table, l.set, l.setId);
  const list = w.nestStart(NFTA_SET_ELEM_LIST_ELEMENTS);
  l.elements.forEach((e, i) => encodeSetElem(w, i + 1, e));
  w.nestEnd(list);
}

export function decodeSetElem(a: AttrSet): NftSetElem {
  const key = readDataValue(a, NFTA_SET_ELEM_KEY);
  const keyEnd = readDataValue(a, NFTA_SET_ELEM_KEY_END);
  const flags = a.u32(NFTA_SET_ELEM_FLAGS);
  const data = readData(a, NFTA_SET_ELEM_DATA);
  const objref = a.str(NFTA_SET_ELEM_OBJREF);
  const timeout = a.u64(NFTA_SET_ELEM_TIMEOUT);
  const expiration = a.u64(NFTA_SET_ELEM_EXPIRATION);
  const userdata = a.bytes(NFTA_SET_ELEM_USERDATA);
  return {
    ...(key !== undefined ? { key } : {}),
    ...(keyEnd !== undefined ? { keyEnd } : {}),
    ...(flags !== undefined ? { flags } : {}),
    ...(data !== undefined ? { data } : {}),
    ...(objref !== undefined ? { objref } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
    ...(expiration !== undefined ? { expiration } : {}),
    ...(userdata !== undefined ? { userdata } : {}),
  };
}

export function decodeSetElemList(msg: NetlinkMessage): NftSetElemList {
  const { start, end } = nfAttrRange(msg);
  const a = new AttrSet(msg.buf, start, end);
  const table = a.str(NFTA_SET_ELEM_LIST_TABLE);
  const set = a.str(NFTA_SET_ELEM_LIST_SET);
  if (table === undefined || set === undefined) throw new Error('set element list without table or set name');
  const setId = a.u32(NFTA_SET_ELEM_LIST_SET_ID);
  const list = a.nested(NFTA_SET_ELEM_LIST_ELEMENTS);
  const elements = list ? list.list.map((e) => decodeSetElem(AttrSet.of(msg.buf, e))) : [];
  return { family: nfgenmsg(msg).family, table, set, ...(setId !== undefined ? { setId } : {}), elements };
}
