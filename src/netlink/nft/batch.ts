// The transaction frame: NFNL_MSG_BATCH_BEGIN ... NFNL_MSG_BATCH_END, and the header every
// nf_tables message in between carries (google/nftables' Flush / FlushWithGenID).

import {
  NFNL_BATCH_GENID,
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFNL_SUBSYS_NFTABLES,
  NFPROTO_UNSPEC,
  NLM_F_REQUEST,
} from '../wire/constants.js';
import type { NetlinkWriter } from '../wire/writer.js';

/** nlmsg_type of an nf_tables message: NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_*. */
export function nftMessageType(msg: number): number {
  return (NFNL_SUBSYS_NFTABLES << 8) | msg;
}

/** Start an nf_tables message (NLM_F_REQUEST is always set); returns its offset. */
export function startNftMessage(w: NetlinkWriter, msg: number, flags: number, seq: number, family: number): number {
  return w.messageStart(nftMessageType(msg), NLM_F_REQUEST | flags, seq, family, 0);
}

/**
 * NFNL_MSG_BATCH_BEGIN for nf_tables (res_id = NFNL_SUBSYS_NFTABLES). With `genId`, the
 * kernel refuses the batch with ERESTART if the ruleset generation has moved on since.
 */
export function encodeBatchBegin(w: NetlinkWriter, seq: number, genId?: number): number {
  const start = w.messageStart(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq, NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES);
  if (genId !== undefined) w.attrU32(NFNL_BATCH_GENID, genId);
  w.messageEnd(start);
  return start;
}

export function encodeBatchEnd(w: NetlinkWriter, seq: number): number {
  const start = w.messageStart(NFNL_MSG_BATCH_END, NLM_F_REQUEST, seq, NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES);
  w.messageEnd(start);
  return start;
}
