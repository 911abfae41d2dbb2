// Userdata (NFTA_RULE_USERDATA, NFTA_SET_USERDATA): opaque to the kernel, read back by nft(8)
// to print comments and set types. libnftnl's format (src/udata.c): TLVs of
// { u8 type; u8 len; value[len] }, unpadded; u32 values in host order.

import { hostU32Bytes } from '../wire/byte-order.js';
import {
  BYTEORDER_INVALID,
  NFTNL_UDATA_RULE_COMMENT,
  NFTNL_UDATA_SET_DATA_INTERVAL,
  NFTNL_UDATA_SET_KEY_TYPEOF,
  NFTNL_UDATA_SET_KEYBYTEORDER,
  NFTNL_UDATA_SET_TYPEOF_DATA,
  NFTNL_UDATA_SET_TYPEOF_EXPR,
} from './constants.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** nftables include/expression.h enum expr_types: EXPR_CONCAT. */
const EXPR_CONCAT = 13;

function tlv(type: number, value: Uint8Array): Uint8Array {
  if (value.length > 0xff) throw new RangeError(`userdata value of ${value.length} bytes does not fit its u8 length`);
  const out = new Uint8Array(2 + value.length);
  out[0] = type;
  out[1] = value.length;
  out.set(value, 2);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A rule comment as nft stores it: NFTNL_UDATA_RULE_COMMENT, NUL-terminated. */
export function ruleCommentUserdata(comment: string): Uint8Array {
  const text = encoder.encode(comment);
  const value = new Uint8Array(text.length + 1);
  value.set(text);
  return tlv(NFTNL_UDATA_RULE_COMMENT, value);
}

/**
 * What nft 1.0.6 stores for `map M { type A . B . C : counter|secmark; flags interval; }`
 * (mnl_nft_set_add): the key byte order (BYTEORDER_INVALID for a concatenation), a
 * KEY_TYPEOF nest naming EXPR_CONCAT with empty data (a `type`, not a `typeof`, declaration),
 * and DATA_INTERVAL = 0. Same bytes for every object map we create.
 */
export function objectMapUserdata(): Uint8Array {
  return concat([
    tlv(NFTNL_UDATA_SET_KEYBYTEORDER, hostU32Bytes(BYTEORDER_INVALID)),
    tlv(NFTNL_UDATA_SET_KEY_TYPEOF, concat([tlv(NFTNL_UDATA_SET_TYPEOF_EXPR, hostU32Bytes(EXPR_CONCAT)), tlv(NFTNL_UDATA_SET_TYPEOF_DATA, new Uint8Array(0))])),
    tlv(NFTNL_UDATA_SET_DATA_INTERVAL, hostU32Bytes(0)),
  ]);
}

/** The TLVs of a userdata blob, one level; stops at the first malformed one. */
export function parseUserdata(bytes: Uint8Array): { type: number; value: Uint8Array }[] {
  const out: { type: number; value: Uint8Array }[] = [];
  let p = 0;
  while (p + 2 <= bytes.length) {
    const type = bytes[p] as number;
    const len = bytes[p + 1] as number;
    if (p + 2 + len > bytes.length) break;
    out.push({ type, value: bytes.subarray(p + 2, p + 2 + len) });
    p += 2 + len;
  }
  return out;
}

/** The comment in a rule's userdata, if any. */
export function ruleCommentFromUserdata(bytes: Uint8Array): string | undefined {
  const t = parseUserdata(bytes).find((u) => u.type === NFTNL_UDATA_RULE_COMMENT);
  if (!t) return undefined;
  let end = t.value.length;
  while (end > 0 && t.value[end - 1] === 0) end--;
  return decoder.decode(t.value.subarray(0, end));
}
