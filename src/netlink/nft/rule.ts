// NFT_MSG_NEWRULE payload (libnftnl src/rule.c): table, chain, the expression list (each
// encoded through the registry) and userdata carrying the comment.

import { AttrSet } from '../wire/attributes.js';
import { nfAttrRange, nfgenmsg, type NetlinkMessage } from '../wire/message.js';
import type { NetlinkWriter } from '../wire/writer.js';
import {
  NFTA_RULE_CHAIN,
  NFTA_RULE_EXPRESSIONS,
  NFTA_RULE_HANDLE,
  NFTA_RULE_POSITION,
  NFTA_RULE_TABLE,
  NFTA_RULE_USERDATA,
} from './constants.js';
import { decodeExpr, encodeExpr } from './expr/registry.js';
import type { Expr, KnownExpr } from './expr/types.js';
import { ruleCommentFromUserdata } from './udata.js';

export interface NftRule<E extends Expr = Expr> {
  readonly family: number;
  /** NFTA_RULE_TABLE */
  readonly table: string;
  /** NFTA_RULE_CHAIN */
  readonly chain: string;
  /** NFTA_RULE_HANDLE */
  readonly handle?: bigint;
  /** NFTA_RULE_POSITION */
  readonly position?: bigint;
  /** NFTA_RULE_EXPRESSIONS */
  readonly expressions: readonly E[];
  /** NFTA_RULE_USERDATA (nft puts the comment here) */
  readonly userdata?: Uint8Array;
  /** Decoded from userdata, for convenience (not encoded from this field). */
  readonly comment?: string;
}

/** Writes the rule; returns each expression's offset (its NFTA_LIST_ELEM header) and where the list ends. */
export function encodeRule(w: NetlinkWriter, r: NftRule<KnownExpr>): { exprOffsets: number[]; exprsEnd: number } {
  w.attrStrz(NFTA_RULE_TABLE, r.table);
  w.attrStrz(NFTA_RULE_CHAIN, r.chain);
  if (r.handle !== undefined) w.attrU64(NFTA_RULE_HANDLE, r.handle);
  if (r.position !== undefined) w.attrU64(NFTA_RULE_POSITION, r.position);
  const offsets: number[] = [];
  const list = w.nestStart(NFTA_RULE_EXPRESSIONS);
  for (const e of r.expressions) offsets.push(encodeExpr(w, e));
  w.nestEnd(list);
  const exprsEnd = w.offset;
  if (r.userdata !== undefined) w.attrBytes(NFTA_RULE_USERDATA, r.userdata);
  return { exprOffsets: offsets, exprsEnd };
}

export function decodeRule(msg: NetlinkMessage): NftRule {
  const { start, end } = nfAttrRange(msg);
  const a = new AttrSet(msg.buf, start, end);
  const table = a.str(NFTA_RULE_TABLE);
  const chain = a.str(NFTA_RULE_CHAIN);
  if (table === undefined || chain === undefined) throw new Error('rule without NFTA_RULE_TABLE or NFTA_RULE_CHAIN');
  const handle = a.u64(NFTA_RULE_HANDLE);
  const position = a.u64(NFTA_RULE_POSITION);
  const list = a.nested(NFTA_RULE_EXPRESSIONS);
  const expressions = list ? list.list.map((elem) => decodeExpr(AttrSet.of(msg.buf, elem))) : [];
  const userdata = a.bytes(NFTA_RULE_USERDATA);
  const comment = userdata ? ruleCommentFromUserdata(userdata) : undefined;
  return {
    family: nfgenmsg(msg).family,
    table,
    chain,
    ...(handle !== undefined ? { handle } : {}),
    ...(position !== undefined ? { position } : {}),
    expressions,
    ...(userdata !== undefined ? { userdata } : {}),
    ...(comment !== undefined ? { comment } : {}),
  };
}
