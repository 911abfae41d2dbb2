// Stateful object payloads (NFTA_OBJ_DATA), one file per object type, like libnftnl src/obj/.

import type { AttrSet } from '../../wire/attributes.js';
import type { NetlinkWriter } from '../../wire/writer.js';

export interface SecmarkData {
  readonly kind: 'secmark';
  /** NFTA_SECMARK_CTX: an SELinux context, sent without a NUL */
  readonly context: string;
}

export interface CounterData {
  readonly kind: 'counter';
  /** NFTA_COUNTER_BYTES / NFTA_COUNTER_PACKETS */
  readonly bytes: bigint;
  readonly packets: bigint;
}

export interface UnknownObjData {
  readonly kind: 'unknown';
  /** NFTA_OBJ_TYPE */
  readonly type: number;
  readonly data: Uint8Array;
}

export type KnownObjData = SecmarkData | CounterData;
export type ObjData = KnownObjData | UnknownObjData;

/** What every object file exports: its NFT_OBJECT_* type and the NFTA_OBJ_DATA attributes. */
export interface ObjOps<D extends KnownObjData> {
  readonly kind: D['kind'];
  /** NFT_OBJECT_* */
  readonly type: number;
  encode(w: NetlinkWriter, d: D): void;
  decode(a: AttrSet): D;
}
