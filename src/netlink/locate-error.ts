// The map from a batch back to the policy: for each message its seq, byte range and the IR
// node it came from, with attribute-level records (each set element, each statement) so that
// the kernel's extended-ack offset narrows an error down to one line.

import type { Note } from '../policy/diagnostics.js';
import type { Span } from '../policy/span.js';

/** What part of the ruleset a message or an attribute makes: each kind has its diagnostic code. */
export type OriginKind = 'batch' | 'table' | 'chain' | 'object' | 'map' | 'element' | 'rule';

/** Where a message or an attribute came from, and what a kernel error about it is about. */
export interface Origin {
  readonly kind: OriginKind;
  /** The policy node that made it: a port entry for an element, the key that enables the rest. */
  readonly span: Span;
  readonly what: string;
  /** Other places that explain it (an element's peer). */
  readonly notes?: readonly Note[];
  /** The name others refer to it by (`object browser_client`, `map connect4`, `chain output`). */
  readonly defines?: string;
  /** The names it refers to: when one of them is refused, the kernel refuses this too (ENOENT). */
  readonly uses?: readonly string[];
}

/** An attribute inside a message that came from its own IR node (an element, a statement). */
export interface AttrRecord extends Origin {
  /** Offset of the attribute header from the start of the message (as NLMSGERR_ATTR_OFFS counts). */
  readonly offset: number;
  /** End of the attribute, same origin. */
  readonly end: number;
}

/** One message of the batch and where it came from. */
export interface MessageRecord extends Origin {
  readonly seq: number;
  /** `NFT_MSG_NEWSETELEM`, `NFNL_MSG_BATCH_BEGIN`, ... */
  readonly type: string;
  /** Byte range of the message in the batch. */
  readonly start: number;
  readonly end: number;
  /** Sorted by offset. */
  readonly attrs: readonly AttrRecord[];
}

/** The names an Origin's `defines` and `uses` hold. */
export const refName = {
  object: (name: string): string => `object ${name}`,
  map: (name: string): string => `map ${name}`,
  chain: (name: string): string => `chain ${name}`,
} as const;

/**
 * Which policy node a kernel error is about: the message with that seq, narrowed to the
 * attribute containing `attrOffset` (NLMSGERR_ATTR_OFFS, counted from the message start)
 * when the kernel gave one.
 */
export function locateError(messages: readonly MessageRecord[], seq: number, attrOffset?: number): Origin | undefined {
  let lo = 0;
  let hi = messages.length - 1;
  let msg: MessageRecord | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = messages[mid] as MessageRecord;
    if (m.seq === seq) {
      msg = m;
      break;
    }
    if (m.seq < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  // Sequence numbers wrap at 2^32; fall back to a scan if the binary search missed.
  msg ??= messages.find((m) => m.seq === seq);
  if (!msg) return undefined;
  if (attrOffset !== undefined && msg.attrs.length > 0) {
    let a = 0;
    let b = msg.attrs.length - 1;
    let found: AttrRecord | undefined;
    while (a <= b) {
      const mid = (a + b) >> 1;
      const rec = msg.attrs[mid] as AttrRecord;
      if (rec.offset <= attrOffset) {
        found = rec;
        a = mid + 1;
      } else b = mid - 1;
    }
    if (found && attrOffset < found.end) return found;
  }
  return msg;
}
