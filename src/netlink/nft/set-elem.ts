// NFT_MSG_NEWSETELEM payload (libnftnl src/set_elem.c): the set (by name, and by
// NFTA_SET_ELEM_LIST_SET_ID when it is created in the same batch) and a list of elements.
// libnftnl numbers the element nests 1, 2, 3... instead of NFTA_LIST_ELEM; the kernel ignores
// the type. We number them within each message (nft keeps counting across messages and
// wraps into the NLA_F_* bits after 16383).

import { AttrSet, MalformedAttributeError } from '../wire/attributes.js';
import { HOST_LITTLE_ENDIAN } from '../wire/byte-order.js';
import { NLA_ALIGNTO, NLA_HDRLEN, NLA_TYPE_MASK } from '../wire/constants.js';
import { nfAttrRange, nfgenmsg, type NetlinkMessage } from '../wire/message.js';
import type { NetlinkWriter } from '../wire/writer.js';
import {
  NFTA_DATA_VALUE,
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

/**
 * One element nest; `index` is its nest type (1-based position in the message). The batch writes
 * our maps' elements with map-layout.ts's ElementWriter instead; this is its reference (same bytes).
 */
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
  const { a, header } = listHeader(msg);
  const list = a.nested(NFTA_SET_ELEM_LIST_ELEMENTS);
  const elements = list ? list.list.map((e) => decodeSetElem(AttrSet.of(msg.buf, e))) : [];
  return { ...header, elements };
}

/** The list's table, set and set id (shared by the whole and the in-place decoders). */
function listHeader(msg: NetlinkMessage): { a: AttrSet; header: Pick<SetElemListHeader, 'family' | 'table' | 'set' | 'setId'> } {
  const { start, end } = nfAttrRange(msg);
  const a = new AttrSet(msg.buf, start, end);
  const table = a.str(NFTA_SET_ELEM_LIST_TABLE);
  const set = a.str(NFTA_SET_ELEM_LIST_SET);
  if (table === undefined || set === undefined) throw new Error('set element list without table or set name');
  const setId = a.u32(NFTA_SET_ELEM_LIST_SET_ID);
  return { a, header: { family: nfgenmsg(msg).family, table, set, ...(setId !== undefined ? { setId } : {}) } };
}

// Reading dumps of 100,000s of elements: the list header once per message, then each element
// located in place (offsets into the message's buffer), with no object or string per element.

/** A NEWSETELEM message's header, and where its element nests are. */
export interface SetElemListHeader {
  readonly family: number;
  readonly table: string;
  readonly set: string;
  readonly setId?: number;
  /** NFTA_SET_ELEM_LIST_ELEMENTS: the element nests are in [elementsStart, elementsEnd); equal when there is none. */
  readonly elementsStart: number;
  readonly elementsEnd: number;
}

export function decodeSetElemListHeader(msg: NetlinkMessage): SetElemListHeader {
  const { a, header } = listHeader(msg);
  const list = a.get(NFTA_SET_ELEM_LIST_ELEMENTS);
  return { ...header, elementsStart: list?.start ?? 0, elementsEnd: list?.end ?? 0 };
}

/**
 * One element nest, located: value offsets in `buf` ([start, end), -1 when the attribute is
 * absent). One object is reused for every element of a scan: read it in the callback.
 */
export class SetElemSlices {
  buf: Uint8Array = new Uint8Array(0);
  /** The element nest's value (all its attributes), for a full decodeSetElem when needed. */
  nestStart = 0;
  nestEnd = 0;
  /** NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE } */
  keyStart = -1;
  keyEnd = -1;
  /** NFTA_SET_ELEM_KEY_END { NFTA_DATA_VALUE } */
  keyEndStart = -1;
  keyEndEnd = -1;
  /** NFTA_SET_ELEM_OBJREF: the name's bytes (UTF-8), trailing NULs dropped as attrString drops them */
  objrefStart = -1;
  objrefEnd = -1;
  /** NFTA_SET_ELEM_DATA is there (a data map's element: decode the nest for it). */
  hasData = false;
}

/** Each element nest in buf[start, end) (a header's elements range), located in place. */
export function scanSetElems(buf: Uint8Array, start: number, end: number, visit: (e: SetElemSlices) => void): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const e = new SetElemSlices();
  e.buf = buf;
  for (let p = start; p + NLA_HDRLEN <= end; ) {
    const len = attrLength(view, p, end);
    e.nestStart = p + NLA_HDRLEN;
    e.nestEnd = p + len;
    e.keyStart = e.keyEnd = e.keyEndStart = e.keyEndEnd = e.objrefStart = e.objrefEnd = -1;
    e.hasData = false;
    for (let q = e.nestStart; q + NLA_HDRLEN <= e.nestEnd; ) {
      const qlen = attrLength(view, q, e.nestEnd);
      const type = view.getUint16(q + 2, HOST_LITTLE_ENDIAN) & NLA_TYPE_MASK;
      if (type === NFTA_SET_ELEM_KEY) {
        const v = dataValueStart(view, q + NLA_HDRLEN, q + qlen);
        if (v >= 0) {
          e.keyStart = v;
          e.keyEnd = v - NLA_HDRLEN + view.getUint16(v - NLA_HDRLEN, HOST_LITTLE_ENDIAN);
        }
      } else if (type === NFTA_SET_ELEM_KEY_END) {
        const v = dataValueStart(view, q + NLA_HDRLEN, q + qlen);
        if (v >= 0) {
          e.keyEndStart = v;
          e.keyEndEnd = v - NLA_HDRLEN + view.getUint16(v - NLA_HDRLEN, HOST_LITTLE_ENDIAN);
        }
      } else if (type === NFTA_SET_ELEM_OBJREF) {
        let nameEnd = q + qlen;
        while (nameEnd > q + NLA_HDRLEN && buf[nameEnd - 1] === 0) nameEnd--;
        e.objrefStart = q + NLA_HDRLEN;
        e.objrefEnd = nameEnd;
      } else if (type === NFTA_SET_ELEM_DATA) {
        e.hasData = true;
      }
      q += align(qlen);
    }
    visit(e);
    p += align(len);
  }
}

const align = (len: number): number => (len + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);

/** nla_len of the attribute at p, checked to lie within `end` (as parseAttributes checks). */
function attrLength(view: DataView, p: number, end: number): number {
  const len = view.getUint16(p, HOST_LITTLE_ENDIAN);
  if (len < NLA_HDRLEN || p + len > end) throw new MalformedAttributeError(`attribute length ${len} out of bounds`, p);
  return len;
}

/** Where the NFTA_DATA_VALUE in the nest value [start, end) starts (its value), -1 if there is none. */
function dataValueStart(view: DataView, start: number, end: number): number {
  let found = -1;
  for (let p = start; p + NLA_HDRLEN <= end; ) {
    const len = attrLength(view, p, end);
    if ((view.getUint16(p + 2, HOST_LITTLE_ENDIAN) & NLA_TYPE_MASK) === NFTA_DATA_VALUE) found = p + NLA_HDRLEN;
    p += align(len);
  }
  return found;
}
