// Loading a compiled ruleset: one batch that replaces our table (create-if-missing, delete,
// recreate with everything), guarded by the ruleset generation so a concurrent writer makes the
// kernel refuse it (ERESTART) rather than interleave; then we read the generation and try again.

import type { Ruleset } from '../compile/ir.js';
import type { BatchError } from '../netlink/decode/replies.js';
import { encodeRuleset } from '../netlink/encode-ruleset.js';
import { encodeDumpTables } from '../netlink/requests.js';
import { ERRNO } from '../netlink/wire/error.js';
import type { Diagnostic } from '../policy/diagnostics.js';
import { NO_POLICY_SPAN } from '../policy/span.js';
import { SecmarkcError } from '../errors.js';
import { refusalDiagnostics } from './refusal.js';
import { KernelError, NetfilterSession } from './session.js';

export const DEFAULT_RETRIES = 5;

export interface ApplyOptions {
  /** Network namespace to act in (an open fd of /run/netns/NAME or /proc/PID/ns/net). */
  readonly netnsFd?: number;
  /** How many times to retry when another writer changed the ruleset meanwhile. */
  readonly retries?: number;
  /**
   * Work for this thread while the kernel processes the first batch (sent from a worker thread
   * then, unless it is small: see INLINE_SEND_MAX_BYTES): e.g. building the applied-policy
   * record, which does not depend on the outcome. Runs once, whatever the outcome; must not throw
   * (see NetfilterSession.batch). It is given the batch's bytes as they were sent (read them
   * only, and only during the call).
   */
  readonly meanwhile?: (batch: Uint8Array) => void;
  /** With `meanwhile`: a first batch up to this size is sent inline, then `meanwhile` runs (default INLINE_SEND_MAX_BYTES). */
  readonly inlineSendMaxBytes?: number;
  /** Told before each retry: the kernel refused attempt `attempt` (checked against `generation`) because the ruleset changed. */
  readonly onRetry?: (attempt: number, generation: number) => void;
}

export interface ApplyResult {
  /** Generation the batch was checked against. */
  readonly generation: number;
  readonly attempts: number;
  readonly messages: number;
  readonly bytes: number;
  /** Whether our table existed at that generation (read in the same session, so exact). */
  readonly existed: boolean;
}

/** The kernel refused the batch: its diagnostics say where, the message what that means. */
export class ApplyError extends SecmarkcError {
  constructor(
    message: string,
    readonly errors: readonly BatchError[],
    diagnostics: readonly Diagnostic[],
  ) {
    super(diagnostics[0]?.code ?? 'SMC104', message, diagnostics);
  }
}

/** Replace our table with `ruleset`, all or nothing. */
export function replaceTable(ruleset: Ruleset, options: ApplyOptions = {}): Promise<ApplyResult> {
  return transact(ruleset, 'replace', options);
}

/** Delete our table in one batch (no error if it does not exist). */
export function deleteTable(table: string, options: ApplyOptions = {}): Promise<ApplyResult> {
  // Nothing in a policy makes this batch: its refusals read `secmarkc: error SMC10n: ...`.
  return transact({ table, family: 'inet', source: '', span: NO_POLICY_SPAN, objects: [], maps: [], chains: [] }, 'delete', options);
}

/**
 * The buffer of the last batch, kept for the next: a process that applies again and again (a
 * daemon, the library runs of bench/apply.ts) would otherwise write every batch into fresh pages,
 * a page fault per 4 KiB of batch (bench/RESULTS.md, "Measurements behind the code").
 * One transaction at a time takes it; a larger buffer than SPARE_LIMIT is let go instead.
 */
let spare: Uint8Array | undefined;
const SPARE_LIMIT = 16 * 1024 * 1024;

async function transact(ruleset: Ruleset, mode: 'replace' | 'delete', options: ApplyOptions): Promise<ApplyResult> {
  const retries = options.retries ?? DEFAULT_RETRIES;
  let buffer = spare;
  spare = undefined;
  const session = NetfilterSession.open(options.netnsFd);
  try {
    for (let attempt = 1; ; attempt++) {
      const generation = await session.generation();
      // Read at this generation: the batch carries it, so a table made or deleted in between
      // makes the kernel refuse the batch and this is read again.
      let tables;
      try {
        tables = await session.request(encodeDumpTables({ seq: session.nextSeq() }), 'listing tables');
      } catch (error) {
        // Another writer changed the ruleset during the listing (NLM_F_DUMP_INTR): nothing was
        // sent yet; read again at the new generation, as for a batch refused with ERESTART.
        if (error instanceof KernelError && error.errno === ERRNO.EINTR && attempt <= retries) {
          options.onRetry?.(attempt, generation);
          continue;
        }
        throw error;
      }
      const existed = tables.some((m) => m.kind === 'table' && m.table.name === ruleset.table);
      // A retry writes over the batch before it: the kernel has answered it.
      const encoded = encodeRuleset(ruleset, { mode, genId: generation, seqStart: session.nextSeq(0), ...(buffer ? { reuse: buffer } : {}) });
      buffer = new Uint8Array(encoded.bytes.buffer, 0, encoded.bytes.buffer.byteLength);
      session.nextSeq(encoded.messages.length);
      const meanwhile = attempt === 1 ? options.meanwhile : undefined;
      const outcome = await session.batch(encoded, meanwhile && (() => meanwhile(encoded.bytes)), options.inlineSendMaxBytes);
      if (outcome.errors.length === 0) {
        return { generation, attempts: attempt, messages: encoded.messages.length, bytes: encoded.bytes.length, existed };
      }
      const changedMeanwhile = outcome.errors.some((e) => e.error.errno === ERRNO.ERESTART);
      if (changedMeanwhile && attempt <= retries) {
        options.onRetry?.(attempt, generation);
        continue;
      }
      throw explain(outcome.errors, changedMeanwhile, attempt);
    }
  } finally {
    session.close();
    if (buffer && buffer.length <= SPARE_LIMIT) spare = buffer;
  }
}

function explain(errors: readonly BatchError[], changedMeanwhile: boolean, attempts: number): ApplyError {
  if (changedMeanwhile) {
    const message = `the ruleset kept changing under us (${attempts} attempts): another program is writing nftables rules`;
    return new ApplyError('nothing was applied; try again', errors, [{ code: 'SMC105', severity: 'error', span: NO_POLICY_SPAN, message }]);
  }
  if (errors.some((e) => e.error.errno === ERRNO.EPERM)) {
    const message = 'permission denied: loading nf_tables rules needs CAP_NET_ADMIN (run as root)';
    return new ApplyError('nothing was applied', errors, [{ code: 'SMC106', severity: 'error', span: NO_POLICY_SPAN, message }]);
  }
  return new ApplyError('the kernel refused the batch; the previous ruleset is unchanged', errors, refusalDiagnostics(errors));
}
