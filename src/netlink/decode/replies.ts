// Reading the kernel's answers: datagrams (as the native socket returns them) → decoded
// messages; a dump collected up to NLMSG_DONE; a batch's errors mapped back to the policy.

import type { Span } from '../../policy/span.js';
import { locateError, type MessageRecord } from '../locate-error.js';
import { NLM_F_DUMP_INTR } from '../wire/constants.js';
import { errnoText, type NetlinkError } from '../wire/error.js';
import { parseMessages } from '../wire/message.js';
import { decodeMessage, type DecodedMessage } from './message.js';

/** Every message in the datagrams, in order. */
export function* readReplies(datagrams: Iterable<Uint8Array>): Generator<DecodedMessage> {
  for (const d of datagrams) for (const m of parseMessages(d)) yield decodeMessage(m);
}

export interface DumpResult {
  /** The dumped objects (NEW* messages answering `seq`). */
  readonly items: DecodedMessage[];
  /** NLMSG_DONE seen: the dump is complete. */
  readonly done: boolean;
  /** The ruleset changed while dumping (NLM_F_DUMP_INTR): dump again. */
  readonly interrupted: boolean;
  readonly error?: NetlinkError;
}

/** Collect the answer to one request (a dump or a single GET) out of the datagrams. */
export function collectDump(datagrams: Iterable<Uint8Array>, seq: number): DumpResult {
  const items: DecodedMessage[] = [];
  let done = false;
  let interrupted = false;
  let error: NetlinkError | undefined;
  for (const m of readReplies(datagrams)) {
    if (m.seq !== seq) continue;
    if ((m.flags & NLM_F_DUMP_INTR) !== 0) interrupted = true;
    if (m.kind === 'done') done = true;
    else if (m.kind === 'error') {
      if (m.error.errno !== 0) error = m.error;
      done = true;
    } else items.push(m);
  }
  return { items, done, interrupted, ...(error ? { error } : {}) };
}

/** A kernel error about one message of our batch, located in the policy. */
export interface BatchError {
  readonly error: NetlinkError;
  readonly span?: Span;
  readonly what?: string;
  /** `kernel rejected map "m" element ...: No such file or directory (ENOENT)` */
  readonly text: string;
}

export interface BatchOutcome {
  readonly errors: BatchError[];
  /** The ACK (or an error) for the last message arrived: the kernel has answered everything. */
  readonly complete: boolean;
}

/** Sort the answers to a batch: errors located via locateError, and whether all arrived. */
export function batchOutcome(datagrams: Iterable<Uint8Array>, messages: readonly MessageRecord[]): BatchOutcome {
  const acked = messages.length >= 2 ? (messages[messages.length - 2] as MessageRecord).seq : undefined;
  const errors: BatchError[] = [];
  let complete = false;
  for (const m of readReplies(datagrams)) {
    if (m.kind !== 'error') continue;
    const error = m.error;
    if (error.request.seq === acked) complete = true;
    if (error.errno === 0) continue;
    const where = locateError(messages, error.request.seq, error.attrOffset);
    const reason = `${error.message ? `${error.message}: ` : ''}${errnoText(error.errno)} (${error.code})`;
    errors.push({
      error,
      ...(where ? { span: where.span, what: where.what } : {}),
      text: where ? `kernel rejected ${where.what}: ${reason}` : `kernel rejected message ${error.request.seq}: ${reason}`,
    });
  }
  return { errors, complete };
}
