// struct nft_data on the wire: a nest holding NFTA_DATA_VALUE (raw bytes) or
// NFTA_DATA_VERDICT { NFTA_VERDICT_CODE, NFTA_VERDICT_CHAIN }. Used by cmp, bitwise,
// immediate, range and set element keys.

import type { AttrSet } from '../../wire/attributes.js';
import type { NetlinkWriter } from '../../wire/writer.js';
import { NFTA_DATA_VALUE, NFTA_DATA_VERDICT, NFTA_VERDICT_CHAIN, NFTA_VERDICT_CODE } from '../constants.js';
import type { NftData } from './types.js';

/** Write `type` as a nest holding NFTA_DATA_VALUE. */
export function writeDataValue(w: NetlinkWriter, type: number, value: Uint8Array): void {
  const nest = w.nestStart(type);
  w.attrBytes(NFTA_DATA_VALUE, value);
  w.nestEnd(nest);
}

export function writeData(w: NetlinkWriter, type: number, data: NftData): void {
  if ('value' in data) return writeDataValue(w, type, data.value);
  const nest = w.nestStart(type);
  const verdict = w.nestStart(NFTA_DATA_VERDICT);
  w.attrU32(NFTA_VERDICT_CODE, data.verdict);
  if (data.chain !== undefined) w.attrStrz(NFTA_VERDICT_CHAIN, data.chain);
  w.nestEnd(verdict);
  w.nestEnd(nest);
}

export function readDataValue(a: AttrSet, type: number): Uint8Array | undefined {
  return a.nested(type)?.bytes(NFTA_DATA_VALUE);
}

export function readData(a: AttrSet, type: number): NftData | undefined {
  const nest = a.nested(type);
  if (!nest) return undefined;
  const value = nest.bytes(NFTA_DATA_VALUE);
  if (value) return { value };
  const verdict = nest.nested(NFTA_DATA_VERDICT);
  if (!verdict) return undefined;
  const code = verdict.u32(NFTA_VERDICT_CODE) ?? 0;
  const chain = verdict.str(NFTA_VERDICT_CHAIN);
  // Verdict codes are signed (NFT_CONTINUE = -1, NFT_JUMP = -3, ...).
  return chain !== undefined ? { verdict: code | 0, chain } : { verdict: code | 0 };
}

/** Helpers shared by the expression decoders. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`expression attribute ${what} missing`);
  return value;
}
