// IR statements → kernel expressions, the way nft 1.0.6 linearizes the equivalent text
// (netlink_linearize.c), so that our bytes equal nft's: same dependencies (meta nfproto in an
// inet table), same register allocation, even nft's no-op byteorder after `meta l4proto`.

import type { KeySelector, ObjectType, Rule, Statement } from '../compile/ir.js';
import { hostU32Bytes } from './wire/byte-order.js';
import { NF_ACCEPT, NFPROTO_IPV4, NFPROTO_IPV6 } from './wire/constants.js';
import {
  NF_CT_STATE_ESTABLISHED_BIT,
  NF_CT_STATE_NEW_BIT,
  NF_CT_STATE_RELATED_BIT,
  NFT_BYTEORDER_HTON,
  NFT_CMP_EQ,
  NFT_CMP_GTE,
  NFT_CMP_LTE,
  NFT_CMP_NEQ,
  NFT_CT_SECMARK,
  NFT_CT_STATE,
  NFT_META_IIF,
  NFT_META_L4PROTO,
  NFT_META_OIF,
  NFT_META_NFPROTO,
  NFT_META_SECMARK,
  NFT_OBJECT_COUNTER,
  NFT_OBJECT_SECMARK,
  NFT_PAYLOAD_NETWORK_HEADER,
  NFT_PAYLOAD_TRANSPORT_HEADER,
  NFT_REG_1,
  NFT_REG_VERDICT,
  NFT_REG32_00,
  NFT_REG32_SIZE,
  NFT_REG_SIZE,
} from './nft/constants.js';
import type { KnownExpr } from './nft/expr/types.js';

const IPPROTO_ICMPV6 = 58;
/** include/net/flow.h: the loopback device has this index in every network namespace. */
const LOOPBACK_IFINDEX = 1;

export const OBJECT_TYPES: Readonly<Record<ObjectType, number>> = {
  secmark: NFT_OBJECT_SECMARK,
  counter: NFT_OBJECT_COUNTER,
};

const CT_STATE_BITS = { new: NF_CT_STATE_NEW_BIT, established: NF_CT_STATE_ESTABLISHED_BIT, related: NF_CT_STATE_RELATED_BIT } as const;

/**
 * nft numbers registers in 4-byte slots from NFT_REG_1 and sends a slot that starts a 16-byte
 * register as NFT_REG_1..4, any other as NFT_REG32_xx (netlink_put_register).
 */
export function slotRegister(slot: number): number {
  const perReg = NFT_REG_SIZE / NFT_REG32_SIZE;
  return slot % perReg === 0 ? NFT_REG_1 + slot / perReg : NFT_REG32_00 + slot;
}

interface SelectorInfo {
  /** Network family the field implies (needs `meta nfproto` in an inet table). */
  readonly nfproto?: number;
  /** Bytes in the register (before padding to 4). */
  readonly len: number;
  /** `interval`: the lookup is in an interval map (see `meta l4proto`). */
  load(dreg: number, interval: boolean): KnownExpr[];
}

function payload(base: number, offset: number, len: number): (dreg: number, interval: boolean) => KnownExpr[] {
  return (dreg) => [{ kind: 'payload', dreg, base, offset, len }];
}

export const SELECTORS: Readonly<Record<KeySelector, SelectorInfo>> = {
  'ip saddr': { nfproto: NFPROTO_IPV4, len: 4, load: payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4) },
  'ip daddr': { nfproto: NFPROTO_IPV4, len: 4, load: payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4) },
  'ip6 saddr': { nfproto: NFPROTO_IPV6, len: 16, load: payload(NFT_PAYLOAD_NETWORK_HEADER, 8, 16) },
  'ip6 daddr': { nfproto: NFPROTO_IPV6, len: 16, load: payload(NFT_PAYLOAD_NETWORK_HEADER, 24, 16) },
  'meta l4proto': {
    len: 1,
    // For an interval map, nft 1.0.6 follows a host-order field in a concatenation with
    // byteorder hton (len 1, size 2): zero 2-byte words, so the kernel does nothing. Kept for
    // byte equality with nft; it sends none for a lookup in an exact (hash) map.
    load: (dreg, interval) => [
      { kind: 'meta', key: NFT_META_L4PROTO, dreg },
      ...(interval ? [{ kind: 'byteorder' as const, sreg: dreg, dreg, op: NFT_BYTEORDER_HTON, len: 1, size: 2 }] : []),
    ],
  },
  'th dport': { len: 2, load: payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2) },
};

function u8(value: number): Uint8Array {
  return Uint8Array.of(value);
}

/** Dependencies already established in this rule, so that none is emitted twice (like nft). */
interface Context {
  nfproto?: number;
  l4proto?: number;
}

function requireNfproto(ctx: Context, nfproto: number, out: KnownExpr[]): void {
  if (ctx.nfproto === nfproto) return;
  if (ctx.nfproto !== undefined) throw new Error(`rule matches both NFPROTO ${ctx.nfproto} and ${nfproto}; it can never match`);
  out.push({ kind: 'meta', key: NFT_META_NFPROTO, dreg: NFT_REG_1 }, { kind: 'cmp', sreg: NFT_REG_1, op: NFT_CMP_EQ, data: u8(nfproto) });
  ctx.nfproto = nfproto;
}

function requireL4proto(ctx: Context, proto: number, out: KnownExpr[]): void {
  if (ctx.l4proto === proto) return;
  out.push({ kind: 'meta', key: NFT_META_L4PROTO, dreg: NFT_REG_1 }, { kind: 'cmp', sreg: NFT_REG_1, op: NFT_CMP_EQ, data: u8(proto) });
  ctx.l4proto = proto;
}

/** What a lookup needs to know of a map created in the same batch, by map name. */
export interface MapRef {
  /** NFTA_OBJREF_SET_ID: names the map before it has a handle. */
  readonly id: number;
  readonly interval: boolean;
}
export type MapRefs = ReadonlyMap<string, MapRef>;

export function linearizeStatement(s: Statement, maps: MapRefs, ctx: Context = {}): KnownExpr[] {
  const out: KnownExpr[] = [];
  switch (s.kind) {
    case 'ct-state': {
      let mask = 0;
      for (const state of s.states) mask |= CT_STATE_BITS[state];
      out.push(
        { kind: 'ct', key: NFT_CT_STATE, dreg: NFT_REG_1 },
        { kind: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, len: 4, mask: hostU32Bytes(mask), xor: hostU32Bytes(0) },
        { kind: 'cmp', sreg: NFT_REG_1, op: NFT_CMP_NEQ, data: hostU32Bytes(0) },
      );
      break;
    }
    case 'icmpv6-type-range': {
      requireNfproto(ctx, NFPROTO_IPV6, out);
      requireL4proto(ctx, IPPROTO_ICMPV6, out);
      out.push({ kind: 'payload', dreg: NFT_REG_1, base: NFT_PAYLOAD_TRANSPORT_HEADER, offset: 0, len: 1 });
      if (s.from === s.to) out.push({ kind: 'cmp', sreg: NFT_REG_1, op: NFT_CMP_EQ, data: u8(s.from) });
      else
        out.push(
          { kind: 'cmp', sreg: NFT_REG_1, op: NFT_CMP_GTE, data: u8(s.from) },
          { kind: 'cmp', sreg: NFT_REG_1, op: NFT_CMP_LTE, data: u8(s.to) },
        );
      break;
    }
    case 'meta-secmark-from-ct':
      out.push({ kind: 'ct', key: NFT_CT_SECMARK, dreg: NFT_REG_1 }, { kind: 'meta', key: NFT_META_SECMARK, sreg: NFT_REG_1 });
      break;
    case 'ct-secmark-from-meta':
      out.push({ kind: 'meta', key: NFT_META_SECMARK, dreg: NFT_REG_1 }, { kind: 'ct', key: NFT_CT_SECMARK, sreg: NFT_REG_1 });
      break;
    case 'objref':
      out.push({ kind: 'objref', mode: 'immediate', objType: OBJECT_TYPES[s.objType], name: s.name });
      break;
    case 'objref-map': {
      if (s.key.length < 2) throw new Error(`map @${s.map}: keys of one field are not supported (only concatenations)`);
      for (const sel of s.key) {
        const nfproto = SELECTORS[sel].nfproto;
        if (nfproto !== undefined) requireNfproto(ctx, nfproto, out);
      }
      const ref = maps.get(s.map);
      // A map not in the batch: assume an interval map, the kind every release before had.
      const interval = ref?.interval ?? true;
      let slot = 0;
      for (const sel of s.key) {
        const info = SELECTORS[sel];
        out.push(...info.load(slotRegister(slot), interval));
        slot += Math.ceil(info.len / NFT_REG32_SIZE);
      }
      const setId = ref?.id;
      out.push({ kind: 'objref', mode: 'set', sreg: NFT_REG_1, set: s.map, ...(setId !== undefined ? { setId } : {}) });
      break;
    }
    case 'counter':
      out.push({ kind: 'counter' });
      break;
    case 'loopback':
      out.push(
        { kind: 'meta', key: s.key === 'iif' ? NFT_META_IIF : NFT_META_OIF, dreg: NFT_REG_1 },
        { kind: 'cmp', sreg: NFT_REG_1, op: NFT_CMP_EQ, data: hostU32Bytes(LOOPBACK_IFINDEX) },
      );
      break;
    case 'accept':
      out.push({ kind: 'immediate', dreg: NFT_REG_VERDICT, data: { verdict: NF_ACCEPT } });
      break;
  }
  return out;
}

/** The rule's expressions, and for each the index of the statement it came from. */
export function linearizeRule(rule: Rule, maps: MapRefs): { exprs: KnownExpr[]; statementOf: number[] } {
  const ctx: Context = {};
  const exprs: KnownExpr[] = [];
  const statementOf: number[] = [];
  rule.statements.forEach((s, i) => {
    for (const e of linearizeStatement(s, maps, ctx)) {
      exprs.push(e);
      statementOf.push(i);
    }
  });
  return { exprs, statementOf };
}
