// NFT_MSG_NEWGEN: the ruleset generation, the answer to NFT_MSG_GETGEN (and an event after
// every commit). Its id goes into NFNL_BATCH_GENID for optimistic concurrency.

import { AttrSet } from '../wire/attributes.js';
import { nfAttrRange, type NetlinkMessage } from '../wire/message.js';
import type { NetlinkWriter } from '../wire/writer.js';
import { NFTA_GEN_ID, NFTA_GEN_PROC_NAME, NFTA_GEN_PROC_PID } from './constants.js';

export interface NftGen {
  /** NFTA_GEN_ID */
  readonly id: number;
  /** NFTA_GEN_PROC_PID / NFTA_GEN_PROC_NAME: who made the last change (events only) */
  readonly procPid?: number;
  readonly procName?: string;
}

/** As the kernel writes it (used by tests; requests carry no attributes). */
export function encodeGen(w: NetlinkWriter, g: NftGen): void {
  w.attrU32(NFTA_GEN_ID, g.id);
  if (g.procPid !== undefined) w.attrU32(NFTA_GEN_PROC_PID, g.procPid);
  if (g.procName !== undefined) w.attrStrz(NFTA_GEN_PROC_NAME, g.procName);
}

export function decodeGen(msg: NetlinkMessage): NftGen {
  const { start, end } = nfAttrRange(msg);
  const a = new AttrSet(msg.buf, start, end);
  const id = a.u32(NFTA_GEN_ID);
  if (id === undefined) throw new Error('NEWGEN without NFTA_GEN_ID');
  const procPid = a.u32(NFTA_GEN_PROC_PID);
  const procName = a.str(NFTA_GEN_PROC_NAME);
  return { id, ...(procPid !== undefined ? { procPid } : {}), ...(procName !== undefined ? { procName } : {}) };
}
