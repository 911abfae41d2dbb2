// `apply --rollback`: load the previous record (module first if it differs, then one batch) and
// swap the two, so a second rollback returns to where it was. With nothing to roll back to, or
// with the previous policy live already, it fails and changes nothing.

import { existsSync } from 'node:fs';
import { readEntry, readRecord, type AppliedRecord } from '../records/state.js';
import type { ApplyResult } from './apply.js';
import { sameTable } from './drift.js';
import { rulesetFor } from './kernel-target.js';
import { begin, dryRun, load, openSession, syncLabels, type LoadRunOptions } from './load.js';
import { describeClaim, describeRecord, matchLive, readLiveTable } from './state-session.js';

export async function rollback(options: LoadRunOptions): Promise<void> {
  const { table, stateDir, report } = options;
  const nothingToRollBackTo = () =>
    report.fail(
      `nothing to roll back to: no previous policy recorded for table ${table} in ${stateDir}; ` +
        'only one policy has been applied since records were kept. Nothing was changed.',
    );
  if (options.dryRun) {
    try {
      const previous = readRecord(stateDir, table, 'previous');
      if (!previous) return nothingToRollBackTo();
      report.recordLive(previous);
      return dryRun(rulesetFor(previous.ruleset, options), previous.module, options, 'previous');
    } catch (error) {
      return report.fail(report.describe(error));
    }
  }
  if (!existsSync(stateDir)) return nothingToRollBackTo();
  const session = await openSession(options, table, 'rollback');
  if (!session) return;
  try {
    const { previous: previousEntry, current: currentEntry } = session.index;
    if (!previousEntry) return nothingToRollBackTo();
    let previous: AppliedRecord;
    try {
      previous = readEntry(stateDir, table, previousEntry);
    } catch (error) {
      return report.fail(`${report.describe(error)}. Nothing was changed.`);
    }
    const { live } = await readLiveTable(options, table);
    if (sameTable(rulesetFor(previous.ruleset, options), live)) {
      const match = matchLive(stateDir, session.index, live, report.describe);
      const says = describeClaim(stateDir, session.index);
      report.fail(
        `the previous policy (${describeRecord(previous)}) is already live: rolling back would load it again. ` +
          `${match.what === 'current' ? '' : `The records say the live table is ${says}, but it is not (secmarkc status). `}Nothing was changed.`,
      );
      return;
    }
    if (!(await begin(session, report, 'rollback', { kind: 'record', file: previousEntry.file, lsm: options.lsm }))) return;
    let applied: ApplyResult;
    try {
      applied = await load(previous.ruleset, previous.module, options);
    } catch (error) {
      session.failed(error);
      return report.failLoad(error);
    }
    try {
      session.commit();
      session.history('rollback', { to: previous.digest, from: currentEntry?.digest ?? null, generation: applied.generation });
    } catch (error) {
      return report.fail(`the kernel rolled back to the policy ${describeRecord(previous)}, but recording it in ${stateDir} failed: ${report.describe(error)}. The next writer records what is live.`);
    }
    report.json.loaded = 'previous';
    report.recordLive(previous);
    report.say(`rolled back table inet ${table} to the policy ${describeRecord(previous)}`);
    syncLabels(previous.module, options);
  } finally {
    session.close();
  }
}
