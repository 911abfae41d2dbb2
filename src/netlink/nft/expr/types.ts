// Kernel expressions as plain data: what one NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS holds.
// Field names follow the NFTA_<EXPR>_* attributes; registers are raw kernel numbers
// (NFT_REG_1..4 or NFT_REG32_00..15). Absent optional fields are not sent.

import type { AttrSet } from '../../wire/attributes.js';
import type { NetlinkWriter } from '../../wire/writer.js';

/** NFTA_DATA_VALUE bytes, or a verdict (NFTA_DATA_VERDICT). */
export type NftData = { readonly value: Uint8Array } | { readonly verdict: number; readonly chain?: string };

export interface PayloadExpr {
  readonly kind: 'payload';
  readonly dreg: number;
  /** NFT_PAYLOAD_*_HEADER */
  readonly base: number;
  readonly offset: number;
  readonly len: number;
}

export interface MetaExpr {
  readonly kind: 'meta';
  /** NFT_META_* */
  readonly key: number;
  readonly dreg?: number;
  readonly sreg?: number;
}

export interface CtExpr {
  readonly kind: 'ct';
  /** NFT_CT_* */
  readonly key: number;
  readonly dreg?: number;
  readonly sreg?: number;
  readonly direction?: number;
}

export interface CmpExpr {
  readonly kind: 'cmp';
  readonly sreg: number;
  /** NFT_CMP_* */
  readonly op: number;
  readonly data: Uint8Array;
}

export interface BitwiseExpr {
  readonly kind: 'bitwise';
  readonly sreg: number;
  readonly dreg: number;
  readonly len: number;
  readonly mask: Uint8Array;
  readonly xor: Uint8Array;
}

export interface ByteorderExpr {
  readonly kind: 'byteorder';
  readonly sreg: number;
  readonly dreg: number;
  /** NFT_BYTEORDER_NTOH / NFT_BYTEORDER_HTON */
  readonly op: number;
  readonly len: number;
  readonly size: number;
}

export interface LookupExpr {
  readonly kind: 'lookup';
  readonly set: string;
  readonly sreg: number;
  readonly setId?: number;
  readonly dreg?: number;
  readonly flags?: number;
}

export interface ImmediateExpr {
  readonly kind: 'immediate';
  readonly dreg: number;
  readonly data: NftData;
}

/** objref by name (NFTA_OBJREF_IMM_*) or through a map lookup (NFTA_OBJREF_SET_*). */
export type ObjrefExpr =
  | { readonly kind: 'objref'; readonly mode: 'immediate'; readonly objType: number; readonly name: string }
  | { readonly kind: 'objref'; readonly mode: 'set'; readonly sreg: number; readonly set: string; readonly setId?: number };

export interface CounterExpr {
  readonly kind: 'counter';
  readonly bytes?: bigint;
  readonly packets?: bigint;
}

export interface RangeExpr {
  readonly kind: 'range';
  readonly sreg: number;
  /** NFT_RANGE_EQ / NFT_RANGE_NEQ */
  readonly op: number;
  readonly from: Uint8Array;
  readonly to: Uint8Array;
}

/** An expression whose name the registry does not know: kept as raw NFTA_EXPR_DATA bytes. */
export interface UnknownExpr {
  readonly kind: 'unknown';
  readonly name: string;
  readonly data: Uint8Array;
}

export type KnownExpr =
  | PayloadExpr
  | MetaExpr
  | CtExpr
  | CmpExpr
  | BitwiseExpr
  | ByteorderExpr
  | LookupExpr
  | ImmediateExpr
  | ObjrefExpr
  | CounterExpr
  | RangeExpr;

export type Expr = KnownExpr | UnknownExpr;

/**
 * What every expression file exports (libnftnl's struct expr_ops): its NFTA_EXPR_NAME, and how
 * to write and read the attributes inside NFTA_EXPR_DATA.
 */
export interface ExprOps<E extends KnownExpr> {
  readonly name: E['kind'];
  encode(w: NetlinkWriter, e: E): void;
  decode(a: AttrSet): E;
}
