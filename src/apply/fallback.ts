// `apply --on-invalid keep|lockdown`: what is loaded when POLICY is invalid, missing or cannot be
// applied (the systemd unit uses it at boot and on reload): the last good record, or the lockdown
// ruleset; and a POLICY that does not exist yet, which keep treats as nothing to apply.

import { existsSync } from 'node:fs';
import { lockdownRuleset } from '../compile/lockdown.js';
import { checkStateDir } from '../records/state-dir.js';
import { readIndex, readRecord, type AppliedRecord } from '../records/state.js';
import { LockError } from './lock.js';
import { begin, installIfChanged, load, syncLabels, type LoadReport, type LoadRunOptions } from './load.js';
import { describeLive, describeRecord, readLiveTable, WriterSession } from './state-session.js';

export const ON_INVALID = ['fail', 'keep', 'lockdown'] as const;
export type OnInvalid = (typeof ON_INVALID)[number];

/**
 * Whether the state directory records a policy applied for the table (or one being loaded). A
 * directory that cannot be read or trusted counts as having one: the fallback then says why.
 */
export function hasRecord(stateDir: string, table: string): boolean {
  if (!existsSync(stateDir)) return false;
  try {
    checkStateDir(stateDir);
    const index = readIndex(stateDir, table);
    return index.current !== null || index.pending !== null;
  } catch {
    return true;
  }
}

/**
 * POLICY does not exist. keep: with no record either, this is a unit installed before its policy
 * was written: nothing to apply, exit 0 (never a lockdown a remote host cannot recover from);
 * with a record, the last good policy stays, exit 1. fail: an error, nothing changed. lockdown:
 * what the administrator asked for, as for an invalid policy.
 */
export async function missingPolicy(path: string, onInvalid: OnInvalid, options: LoadRunOptions): Promise<void> {
  const { table, stateDir, report } = options;
  if (onInvalid === 'keep' && !hasRecord(stateDir, table)) {
    const live = options.dryRun ? undefined : await liveSentence(table, options);
    report.note(
      `${path} does not exist and no policy was ever applied for table ${table} (no record in ${stateDir}): nothing to apply` +
        `${live ? `; ${live}` : ''}. Write the policy, then run: systemctl restart secmarkc (or secmarkc apply ${path}).`,
    );
    return;
  }
  report.fail(`policy ${path} does not exist${onInvalid === 'fail' ? '. Nothing was changed.' : ''}`);
  if (onInvalid !== 'fail') await fallBack(onInvalid, table, `${path} does not exist`, options);
}

/** Whether our table is live, in words, for a fallback that loads nothing (best effort). */
async function liveSentence(table: string, options: LoadRunOptions, session?: WriterSession): Promise<string> {
  try {
    if (session) {
      const match = await session.live();
      if (match.what !== 'none') return `the live table inet ${table} is left as it is: ${describeLive(match, table)}`;
    } else if ((await readLiveTable(options, table)).live) return `the live table inet ${table} is left as it is`;
    return `table inet ${table} is not loaded: secmarkc does not filter this host`;
  } catch (error) {
    return `cannot tell what is live: ${options.report.describe(error)}`;
  }
}

/**
 * POLICY is invalid, missing or was refused: load the last good record (keep) or the lockdown
 * ruleset. keep never locks down: with no record it can trust, it loads nothing and leaves the
 * live ruleset alone; with the record live already, it sends nothing. The exit status set by the
 * failure stays: the service is marked failed either way. Runs in the apply's session when it
 * has one (the lock is held already).
 */
export async function fallBack(mode: Exclude<OnInvalid, 'fail'>, table: string, why: string, options: LoadRunOptions, given?: WriterSession): Promise<void> {
  const { stateDir, report } = options;
  /** The last good record; undefined after saying why there is none. */
  const lastGoodOf = (read: () => AppliedRecord | undefined): AppliedRecord | undefined => {
    try {
      const record = read();
      if (!record) report.note(`no last good policy recorded for table ${table} in ${stateDir}`);
      return record;
    } catch (error) {
      report.note(`${report.describe(error)}: it cannot be loaded, so there is no last good policy`);
      return undefined;
    }
  };
  const nothingKept = (live: string) => {
    report.json.fallback = { mode: 'keep', reason: why };
    report.note(`${why}, and there is no last good policy to keep: nothing was loaded (keep never locks down); ${live}. Fix the policy, then run: systemctl restart secmarkc.`);
  };
  await report.keepStatus(async () => {
    let session = given;
    try {
      if (options.dryRun) {
        const lastGood = mode === 'keep' ? lastGoodOf(() => readRecord(stateDir, table, 'current')) : undefined;
        report.json.fallback = { mode, reason: why };
        report.json.loaded = lastGood ? 'last-good' : mode === 'lockdown' ? 'lockdown' : null;
        if (lastGood) report.recordLive(lastGood);
        report.say(
          lastGood
            ? `would load the last good policy, ${describeRecord(lastGood)}, unless it is live already`
            : mode === 'keep'
              ? `would load nothing: no last good policy for table inet ${table} (keep never locks down)`
              : `would lock down table inet ${table} (drop all but loopback)`,
        );
        return;
      }
      if (!session) {
        try {
          session = await WriterSession.open(options, table, mode, report);
        } catch (error) {
          if (error instanceof LockError) throw error;
          // An untrusted or unreadable state directory holds no policy to keep, and can record nothing.
          report.note(`${report.describe(error)}: ${mode === 'keep' ? 'no last good policy can be read there' : 'locking down without recording it'}`);
        }
      }
      if (mode === 'keep') {
        const current = session?.index.current ?? null;
        const lastGood = session ? lastGoodOf(() => (current ? session!.readEntry(current) : undefined)) : undefined;
        if (!session || !lastGood || !current) return nothingKept(await liveSentence(table, options, session));
        const match = await session.live();
        if (match.what === 'current') {
          // The last good policy is live (a reload with a broken or deleted policy): no batch; its module stays or is put back.
          installIfChanged(lastGood.module, options);
          if (session.index.live !== 'current' && (await begin(session, report, 'keep', { kind: 'record', file: current.file, lsm: options.lsm }))) session.commit();
          session.history('keep', { reason: why, digest: lastGood.digest, unchanged: true });
          keptReport(report, why, lastGood);
          report.note(`${why}: the last good policy, ${describeRecord(lastGood)}, is live already: left as it is. Fix the policy, then run: systemctl restart secmarkc.`);
          return;
        }
        const recorded = await begin(session, report, 'keep', { kind: 'record', file: current.file, lsm: options.lsm });
        if (!recorded) report.note('loading the fallback without recording it');
        const applied = await load(lastGood.ruleset, lastGood.module, options);
        if (recorded) commitFallback(session, report, 'keep', { reason: why, digest: lastGood.digest, generation: applied.generation });
        keptReport(report, why, lastGood);
        syncLabels(lastGood.module, options);
        report.note(`${why}: kept the last good policy, ${describeRecord(lastGood)}. Fix the policy, then run: systemctl restart secmarkc.`);
        return;
      }
      const recorded = session !== undefined && (await begin(session, report, 'lockdown', { kind: 'lockdown' }));
      if (session && !recorded) report.note('loading the fallback without recording it');
      const applied = await load(lockdownRuleset(table), undefined, { ...options, lsm: true });
      if (recorded) commitFallback(session!, report, 'lockdown', { reason: why, generation: applied.generation });
      report.json.fallback = { mode: 'lockdown', reason: why };
      report.json.loaded = 'lockdown';
      report.json.record = null;
      report.note(`${why}: LOCKDOWN: table inet ${table} now drops all traffic except loopback. Fix the policy, then run: systemctl restart secmarkc.`);
    } catch (error) {
      session?.failed(error);
      report.failLoad(error, `${why}, and the ${mode} fallback failed too`);
    } finally {
      if (session !== given) session?.close();
    }
  });
}

/** --json: the last good policy is what the kernel runs because of this fallback. */
function keptReport(report: LoadReport, why: string, lastGood: AppliedRecord): void {
  report.json.fallback = { mode: 'keep', reason: why };
  report.json.loaded = 'last-good';
  report.recordLive(lastGood);
}

/** A fallback was loaded: the index says so, and the history. */
function commitFallback(session: WriterSession, report: LoadReport, event: 'keep' | 'lockdown', detail: Record<string, unknown>): void {
  try {
    session.commit();
    session.history(event, detail);
  } catch (error) {
    report.note(`loaded, but recording it in ${session.options.stateDir} failed: ${report.describe(error)}`);
  }
}
