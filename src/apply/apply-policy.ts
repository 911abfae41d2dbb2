// `apply POLICY` once the policy compiled: intent, module, batch, record, in the order that lets
// the next writer tell what happened if this one is killed at any point (state-session.ts,
// repair); and, when the load fails, the --on-invalid fallback in the same session.

import { resolve } from 'node:path';
import { NotExclusiveError } from '../audit/exclusive.js';
import type { CilModule, CompiledPolicy } from '../compile/ir.js';
import type { PortTable } from '../port-labels/port-table.js';
import { makeRecord, type StagedRecord } from '../records/state.js';
import type { ApplyResult } from './apply.js';
import { fallBack, type OnInvalid } from './fallback.js';
import { faultPoint } from './fault-point.js';
import { intentInputs } from './intent.js';
import { BootFileWriter } from './boot-writer.js';
import { begin, load, openSession, syncLabels, type LoadRunOptions } from './load.js';

/** A compiled POLICY and what its compile depended on (for the intent). */
export interface PolicyToApply {
  /** As given: "-" for stdin. */
  readonly path: string;
  readonly text: string;
  /** The name diagnostics and spans use. */
  readonly file: string;
  readonly compiled: CompiledPolicy;
  /** The port labels of `ports: policy`, as the compile read them. */
  readonly portTable: PortTable | undefined;
  /**
   * Why this apply leaves no boot file for secmarkc-boot (an option the unit's own apply does not
   * have, so the full apply at boot would load something else), or undefined.
   */
  readonly notBootable?: string;
}

/**
 * `audit` (the exclusivity audit, unless --no-audit) runs between the module and the batch and
 * throws NotExclusiveError to refuse: then nothing is sent, as for a refused batch.
 */
export async function applyPolicy(policy: PolicyToApply, onInvalid: OnInvalid, options: LoadRunOptions, audit?: (module: CilModule) => void): Promise<void> {
  const { compiled, path: policyPath } = policy;
  const { report } = options;
  const table = compiled.ruleset.table;
  report.json.table = table;
  const session = await openSession(options, table, 'apply');
  if (!session) return;
  try {
    // Records name the policy by its absolute path: rollback, keep and status may run from elsewhere.
    const source = { path: policyPath === '-' ? '-' : resolve(policyPath), text: policy.text };
    // The intent keeps a copy of the text and the compile's other inputs: killed before its record
    // file exists, this apply can still be compiled again, compared with the kernel and recorded.
    const inputs = intentInputs(policy.file, policy.portTable);
    if (!(await begin(session, report, 'apply', { kind: 'new-record', lsm: options.lsm, source, inputs }))) return;
    // The record is built and written under its own name while the kernel processes the batch
    // (it does not depend on the outcome); the index names it once the batch was applied.
    let staged: StagedRecord | undefined;
    let stagingError: unknown;
    const stage = (): void => {
      try {
        staged = session.stage(makeRecord(compiled, source));
      } catch (error) {
        stagingError = error;
      }
    };
    // Programs were compiled with what the loaded SELinux policy and this host's files said, which
    // the intent does not keep: such a record is written before the batch, so there is no window.
    const recordFirst = compiled.module.programs.length > 0;
    if (recordFirst) {
      stage();
      if (!staged) {
        session.abandon();
        report.fail(`cannot write the record to the state directory ${options.stateDir}: ${report.describe(stagingError)}. Nothing was sent to the kernel.`);
        return;
      }
    }
    // Apps by program path: their files' labels would need checking at boot too (not done: declined).
    const boot = new BootFileWriter(options.stateDir, options.lsm, report, policy.notBootable ?? (recordFirst ? 'apps by program path' : undefined));
    let applied: ApplyResult;
    try {
      const meanwhile = (batch: Uint8Array) => {
        faultPoint('sent');
        if (!recordFirst) stage();
        if (staged) boot.stage(staged.record, batch);
      };
      applied = await load(compiled.ruleset, compiled.module, options, meanwhile, audit);
    } catch (error) {
      boot.drop();
      session.failed(error);
      if (error instanceof NotExclusiveError) {
        report.invalid(
          error.diagnostics,
          `refusing to apply ${policyPath}: its packet types are not exclusive (SMC060 above). The previous module ` +
            'and ruleset are in place. Remove the rules that grant them, or apply with --allow-shared-labels.',
        );
        if (onInvalid !== 'fail') await fallBack(onInvalid, table, `${policyPath}'s packet types are not exclusive`, options, session);
        return;
      }
      report.failLoad(error);
      if (onInvalid !== 'fail') await fallBack(onInvalid, table, `${policyPath} could not be applied`, options, session);
      return;
    }
    report.json.loaded = 'policy';
    try {
      if (!staged) throw stagingError ?? new Error('internal error: the record was not built during the batch');
      boot.finish(session.commit());
      const { record } = staged;
      report.recordLive(record);
      session.history('apply', { source: record.source.path, digest: record.digest, generation: applied.generation });
    } catch (error) {
      boot.drop();
      // Loaded, but not recorded: the index still says what is pending, and the next writer
      // records what the kernel shows. Say what is live, exit 1.
      report.fail(
        `the kernel applied ${policyPath} (generation ${applied.generation}), but recording it in ${options.stateDir} failed: ${report.describe(error)}. ` +
          'The next apply, rollback or --on-invalid fallback records what is live; `secmarkc status` shows it now.',
      );
    }
    syncLabels(compiled.module, options);
  } finally {
    session.close();
  }
}
