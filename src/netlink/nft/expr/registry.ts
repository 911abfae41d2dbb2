// The explicit expression registry (libnftnl src/expr_ops.c): every expression we encode or
// decode, by NFTA_EXPR_NAME. No import side effects: adding an expression means adding it here.

import { AttrSet } from '../../wire/attributes.js';
import type { NetlinkWriter } from '../../wire/writer.js';
import { NFTA_EXPR_DATA, NFTA_EXPR_NAME, NFTA_LIST_ELEM } from '../constants.js';
import { bitwiseOps } from './bitwise.js';
import { byteorderOps } from './byteorder.js';
import { cmpOps } from './cmp.js';
import { counterOps } from './counter.js';
import { ctOps } from './ct.js';
import { immediateOps } from './immediate.js';
import { lookupOps } from './lookup.js';
import { metaOps } from './meta.js';
import { objrefOps } from './objref.js';
import { payloadOps } from './payload.js';
import { rangeOps } from './range.js';
import type { Expr, ExprOps, KnownExpr } from './types.js';

type Registry = { readonly [K in KnownExpr['kind']]: ExprOps<Extract<KnownExpr, { kind: K }>> };

export const EXPR_OPS: Registry = {
  payload: payloadOps,
  meta: metaOps,
  ct: ctOps,
  cmp: cmpOps,
  bitwise: bitwiseOps,
  byteorder: byteorderOps,
  lookup: lookupOps,
  immediate: immediateOps,
  objref: objrefOps,
  counter: counterOps,
  range: rangeOps,
};

function opsFor(name: string): ExprOps<KnownExpr> | undefined {
  return Object.prototype.hasOwnProperty.call(EXPR_OPS, name) ? (EXPR_OPS[name as KnownExpr['kind']] as ExprOps<KnownExpr>) : undefined;
}

/** Write one NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA { ... } }; returns its offset. */
export function encodeExpr(w: NetlinkWriter, e: KnownExpr): number {
  const ops = opsFor(e.kind);
  if (!ops) throw new Error(`no expression ops for ${e.kind}`);
  const elem = w.nestStart(NFTA_LIST_ELEM);
  w.attrStrz(NFTA_EXPR_NAME, ops.name);
  const data = w.nestStart(NFTA_EXPR_DATA);
  ops.encode(w, e);
  w.nestEnd(data);
  w.nestEnd(elem);
  return elem;
}

/** Read one NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS (the attributes inside the element). */
export function decodeExpr(elem: AttrSet): Expr {
  const name = elem.str(NFTA_EXPR_NAME);
  if (name === undefined) throw new Error('expression without NFTA_EXPR_NAME');
  const dataAttr = elem.get(NFTA_EXPR_DATA);
  const ops = opsFor(name);
  if (!ops) return { kind: 'unknown', name, data: dataAttr ? elem.buf.slice(dataAttr.start, dataAttr.end) : new Uint8Array(0) };
  const data = dataAttr ? AttrSet.of(elem.buf, dataAttr) : new AttrSet(elem.buf, 0, 0);
  return ops.decode(data);
}
