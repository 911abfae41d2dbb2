// NFT_MSG_NEWOBJ payload (libnftnl src/object.c): table, name, NFTA_OBJ_TYPE and the
// type's NFTA_OBJ_DATA through the explicit object registry below.

import { AttrSet } from '../wire/attributes.js';
import { nfAttrRange, nfgenmsg, type NetlinkMessage } from '../wire/message.js';
import type { NetlinkWriter } from '../wire/writer.js';
import { NFTA_OBJ_DATA, NFTA_OBJ_HANDLE, NFTA_OBJ_NAME, NFTA_OBJ_TABLE, NFTA_OBJ_TYPE, NFTA_OBJ_USE, NFTA_OBJ_USERDATA } from './constants.js';
import { counterObjOps } from './obj/counter.js';
import { secmarkOps } from './obj/secmark.js';
import type { KnownObjData, ObjData, ObjOps } from './obj/types.js';

/** The object registry (libnftnl src/obj_ops.c), by kind and by NFT_OBJECT_* type. */
export const OBJ_OPS: { readonly [K in KnownObjData['kind']]: ObjOps<Extract<KnownObjData, { kind: K }>> } = {
  secmark: secmarkOps,
  counter: counterObjOps,
};

const BY_TYPE = new Map<number, ObjOps<KnownObjData>>(Object.values(OBJ_OPS).map((ops) => [ops.type, ops as ObjOps<KnownObjData>]));

export interface NftObj {
  readonly family: number;
  /** NFTA_OBJ_TABLE */
  readonly table: string;
  /** NFTA_OBJ_NAME */
  readonly name: string;
  /** NFTA_OBJ_HANDLE */
  readonly handle?: bigint;
  /** NFTA_OBJ_USE: references from rules and maps */
  readonly use?: number;
  /** NFTA_OBJ_TYPE + NFTA_OBJ_DATA */
  readonly data: ObjData;
  readonly userdata?: Uint8Array;
}

export function objType(data: ObjData): number {
  return data.kind === 'unknown' ? data.type : OBJ_OPS[data.kind].type;
}

export function encodeObj(w: NetlinkWriter, o: NftObj): void {
  w.attrStrz(NFTA_OBJ_TABLE, o.table);
  w.attrStrz(NFTA_OBJ_NAME, o.name);
  if (o.handle !== undefined) w.attrU64(NFTA_OBJ_HANDLE, o.handle);
  w.attrU32(NFTA_OBJ_TYPE, objType(o.data));
  const nest = w.nestStart(NFTA_OBJ_DATA);
  if (o.data.kind === 'unknown') w.raw(o.data.data);
  else (OBJ_OPS[o.data.kind] as ObjOps<KnownObjData>).encode(w, o.data);
  w.nestEnd(nest);
  if (o.userdata !== undefined) w.attrBytes(NFTA_OBJ_USERDATA, o.userdata);
}

export function decodeObj(msg: NetlinkMessage): NftObj {
  const { start, end } = nfAttrRange(msg);
  const a = new AttrSet(msg.buf, start, end);
  const table = a.str(NFTA_OBJ_TABLE);
  const name = a.str(NFTA_OBJ_NAME);
  const type = a.u32(NFTA_OBJ_TYPE);
  if (table === undefined || name === undefined || type === undefined) throw new Error('object without table, name or type');
  const handle = a.u64(NFTA_OBJ_HANDLE);
  const use = a.u32(NFTA_OBJ_USE);
  const userdata = a.bytes(NFTA_OBJ_USERDATA);
  const ops = BY_TYPE.get(type);
  const dataAttr = a.get(NFTA_OBJ_DATA);
  const data: ObjData = ops
    ? ops.decode(dataAttr ? AttrSet.of(msg.buf, dataAttr) : new AttrSet(msg.buf, 0, 0))
    : { kind: 'unknown', type, data: dataAttr ? msg.buf.slice(dataAttr.start, dataAttr.end) : new Uint8Array(0) };
  return {
    family: nfgenmsg(msg).family,
    table,
    name,
    ...(handle !== undefined ? { handle } : {}),
    ...(use !== undefined ? { use } : {}),
    data,
    ...(userdata !== undefined ? { userdata } : {}),
  };
}
