// Reading the kernel's answers: datagrams (as the native socket returns them) → decoded
// messages; a dump collected up to NLMSG_DONE; a batch's errors mapped back to the policy.

import type { Span } from '../../policy/span.js';
import { locateError, type MessageRecord, type Origin } from '../locate-error.js';
import { NLM_F_ACK, NLM_F_DUMP_INTR, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR } from '../wire/constants.js';
import { decodeNlmsgerr, errnoText, type NetlinkError } from '../wire/error.js';
import { parseMessages, type NetlinkMessage } from '../wire/message.js';
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

/**
 * Collects the answer to one request datagram by datagram, as they arrive: add() each, stop
 * when `done`. A dump ends with NLMSG_DONE, a request flagged NLM_F_ACK with its ACK, any
 * request with an error; a plain GET (GETGEN) with its one reply. With a `sink`, each answering
 * message goes to it as it is read, undecoded, and none is kept (`items` stays empty): a dump of
 * 100,000s of set elements is folded as it arrives (see ElementSet), never held whole.
 */
export class DumpCollector {
  readonly items: DecodedMessage[] = [];
  done = false;
  interrupted = false;
  error?: NetlinkError;

  /** `expectAck`: the request carried NLM_F_ACK, so a single reply is followed by an ACK. */
  constructor(
    readonly seq: number,
    readonly expectAck = false,
    private readonly sink?: (message: NetlinkMessage) => void,
  ) {}

  /** A collector for the request in `request` (its seq and flags). */
  static for(request: Uint8Array, sink?: (message: NetlinkMessage) => void): DumpCollector {
    const [m] = parseMessages(request);
    if (!m) throw new Error('empty request');
    return new DumpCollector(m.seq, (m.flags & NLM_F_ACK) !== 0, sink);
  }

  add(datagram: Uint8Array): void {
    for (const m of parseMessages(datagram)) {
      if (m.seq !== this.seq) continue;
      if ((m.flags & NLM_F_DUMP_INTR) !== 0) this.interrupted = true;
      if (m.type === NLMSG_DONE) this.done = true;
      else if (m.type === NLMSG_ERROR) {
        const error = decodeNlmsgerr(m);
        if (error.errno !== 0) this.error = error;
        this.done = true;
      } else {
        if (this.sink) this.sink(m);
        else this.items.push(decodeMessage(m));
        if ((m.flags & NLM_F_MULTI) === 0 && !this.expectAck) this.done = true;
      }
    }
  }

  get result(): DumpResult {
    return { items: this.items, done: this.done, interrupted: this.interrupted, ...(this.error ? { error: this.error } : {}) };
  }
}

/** Collect the answer to one request out of datagrams already received. */
export function collectDump(datagrams: Iterable<Uint8Array>, seq: number, expectAck = false): DumpResult {
  const c = new DumpCollector(seq, expectAck);
  for (const d of datagrams) c.add(d);
  return c.result;
}

/** A kernel error about one message of our batch, located in the policy. */
export interface BatchError {
  readonly error: NetlinkError;
  /** The message, or the element or statement inside it, the error is about. */
  readonly origin?: Origin;
  readonly span?: Span;
  readonly what?: string;
  /** The kernel's reason: `No such file or directory (ENOENT)`, after its extended-ack text if any. */
  readonly reason: string;
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
      ...(where ? { origin: where, span: where.span, what: where.what } : {}),
      reason,
      text: where ? `kernel rejected ${where.what}: ${reason}` : `kernel rejected message ${error.request.seq}: ${reason}`,
    });
  }
  return { errors, complete };
}
