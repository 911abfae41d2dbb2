// `secmarkc apply POLICY`: install the CIL module if it changed, then replace our table in one
// atomic batch, and record what was applied (src/records/state.ts). `--rollback` loads the
// recorded previous policy instead; `--on-invalid keep|lockdown` says what to load when POLICY
// is invalid or cannot be applied (the systemd unit uses it at boot and on reload).

import { Option, type Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApplyError, DEFAULT_RETRIES, replaceTable, type ApplyResult } from '../apply/apply.js';
import { sameTable } from '../apply/drift.js';
import { checkStateDir } from '../records/state-dir.js';
import { LockError } from '../apply/lock.js';
import { makeRecord, readEntry, readIndex, readRecord, type AppliedRecord, type LoadCommand, type StagedRecord } from '../records/state.js';
import type { CilModule, Ruleset } from '../compile/ir.js';
import { lockdownRuleset } from '../compile/lockdown.js';
import { encodeRuleset } from '../netlink/encode-ruleset.js';
import type { Policy } from '../policy/types.js';
import { LOADED_POLICY } from '../selinux/packet-users.js';
import { DEFAULT_STATE_DIR } from '../records/state-dir.js';
import { installedModule, installModule, restoreModule } from '../selinux/semodule.js';
import { MissingToolError } from '../selinux/tools.js';
import { journalPath, syncProgramLabels, type LabelChange } from '../programs/sync-labels.js';
import { EXIT } from './exit-codes.js';
import { NotExclusiveError } from '../audit/exclusive.js';
import { runAudit } from './exclusivity.js';
import { rulesetFor, withNetns } from '../apply/kernel-target.js';
import { DEFAULT_WAIT_SECONDS, describeClaim, describeLive, describeRecord, matchLive, readLiveTable, WriterSession, type StateOptions } from '../apply/state-session.js';
import { addKernelOptions } from './kernel-options.js';
import { stdinConflict } from './io.js';
import { addPortsFromOption, loadPolicyWithSource, type PortsFromOption } from './load-policy.js';
import { faultPoint } from '../apply/fault-point.js';
import { intentInputs } from '../apply/intent.js';
import { parseCount, parseSeconds, parseTableName } from './option-parsers.js';
import { labelJson } from './remove-command.js';
import { describeError, failRuntime, printDiagnostics } from './report.js';
import { stderrNotes } from './notes.js';

export const ON_INVALID = ['fail', 'keep', 'lockdown'] as const;
export type OnInvalid = (typeof ON_INVALID)[number];

interface ApplyOptions extends StateOptions, PortsFromOption {
  module: boolean;
  dryRun?: boolean;
  rollback?: boolean;
  onInvalid: OnInvalid;
  table: string;
  retries: number;
  allowSharedLabels?: boolean;
  /** false with --no-audit. */
  audit: boolean;
  json?: boolean;
  /** What this run did: report lines on stdout as it goes, or one JSON object at the end (--json). */
  report: ApplyReport;
}

/** `apply --json` (README, "JSON output"): one object, printed at the end, whatever the outcome. */
export interface ApplyJson {
  /** What was asked: apply POLICY, or --rollback. */
  command: 'apply' | 'rollback';
  dryRun: boolean;
  /** Exit status 0. */
  ok: boolean;
  table: string;
  /** POLICY as given ("-": stdin); null with --rollback. */
  policy: string | null;
  /** What the kernel runs now because of this run (with --dry-run: would run); null: nothing was loaded. */
  loaded: 'policy' | 'previous' | 'last-good' | 'lockdown' | null;
  /** The CIL module: installed (its text changed) or not (unchanged); null when not touched; installed null under --dry-run. */
  module: { name: string; installed: boolean | null } | null;
  /** The batch the kernel applied (--dry-run: would be sent; generation and attempts null). */
  batch: { messages: number; bytes: number; generation: number | null; attempts: number | null } | null;
  /** The record that is live now: what was applied, rolled back to or kept. */
  record: { source: string; sha256: string; appliedAt: string } | null;
  /** Set when POLICY failed and --on-invalid keep|lockdown loaded something else. */
  fallback: { mode: 'keep' | 'lockdown'; reason: string } | null;
  /** Program files labelled or given back their labels. */
  labels: { path: string; from: string | null; to: string | null }[];
}

class ApplyReport {
  readonly json: ApplyJson;

  constructor(
    private readonly asJson: boolean,
    command: ApplyJson['command'],
    table: string,
    policy: string | undefined,
    dryRun: boolean,
  ) {
    this.json = { command, dryRun, ok: false, table, policy: policy ?? null, loaded: null, module: null, batch: null, record: null, fallback: null, labels: [] };
  }

  /** A line of the report (stdout), unless --json. */
  say(line: string): void {
    if (!this.asJson) process.stdout.write(`${line}\n`);
  }

  recordLive(record: Pick<AppliedRecord, 'source' | 'appliedAt'>): void {
    this.json.record = { source: record.source.path, sha256: record.source.sha256, appliedAt: record.appliedAt };
  }

  label(change: LabelChange): void {
    this.json.labels.push(labelJson(change));
    this.say(`${change.action} ${change.path}: ${change.from ?? '(no label)'} -> ${change.to ?? '(no label)'}`);
  }

  print(): void {
    if (!this.asJson) return;
    this.json.ok = !process.exitCode;
    process.stdout.write(JSON.stringify(this.json, null, 2) + '\n');
  }
}

export function registerApply(program: Command): void {
  const command = program
    .command('apply')
    .summary('install the CIL module (if changed) and replace the ruleset atomically')
    .description(
      'Compile POLICY, install its CIL module with semodule (only when its text changed), then replace ' +
        'table inet <table> in one nf_tables batch: all or nothing, checked against the ruleset ' +
        'generation and retried if another program changed the ruleset meanwhile. A refused batch ' +
        'leaves the previous ruleset exactly as it was. Needs root (CAP_NET_ADMIN, and semodule).\n\n' +
        'Each successful apply is recorded in compiled form in the state directory (record files named by ' +
        'TABLE.state.json, which says which is current, which previous, and what is live; events in ' +
        'TABLE.history). One writer at a time: apply, --rollback, the fallbacks and remove take TABLE.lock ' +
        '(flock) and wait up to --wait seconds for it. The state directory must be owned by root and ' +
        'writable by nobody else, and must be writable: that is checked before anything is sent. An apply ' +
        'killed half way is recorded by the next one as the kernel shows it (even before its record was ' +
        'written: its intent keeps a copy of the policy, TABLE.intent.N.json, to compile again). --rollback loads the ' +
        'previous record (module first if it differs, then one batch) and swaps the two, so a second ' +
        '--rollback returns to where you were. With nothing to roll back to, or when the previous policy ' +
        'is already live, it fails and changes nothing.\n\n' +
        '--on-invalid says what happens when POLICY is invalid, unreadable, missing or refused: fail (change ' +
        'nothing; the default), keep (load the last successfully applied policy if the live table is not ' +
        'already it; with none recorded, load nothing and leave the live ruleset alone: keep never locks ' +
        'down), lockdown (load a ruleset in our table that drops everything but loopback). The exit ' +
        'status stays non-zero (2 invalid, 1 runtime or missing) so that a service manager marks the start failed. ' +
        'One exception, for a unit installed before its policy: with keep, a POLICY that does not exist while no ' +
        'policy was ever applied for the table is "nothing to apply yet": nothing is loaded and the exit status is 0.\n\n' +
        'Between the module and the batch, the exclusivity audit asks the loaded SELinux policy who may use ' +
        'each packet type (as `secmarkc check` does). If a rule lets a domain outside the app use one (SMC060), ' +
        'apply puts the previous module back, changes nothing in nftables and exits 2, unless ' +
        '--allow-shared-labels is given. Without setools it warns and goes on; --no-audit skips it.\n\n' +
        'What was done (module, batch, rollback, labels) is printed on stdout, with --json as one JSON object; ' +
        'errors, warnings, progress and the notes of a fallback on stderr.',
    )
    .argument('[policy]', 'policy file, or - for stdin')
    .option('--no-module', 'do not install the CIL module (it is already loaded, or managed elsewhere)')
    .option('--dry-run', 'print the messages that would be sent, and send nothing')
    .option('--rollback', 'load the previously applied policy from the state directory (no POLICY)')
    .addOption(new Option('--on-invalid <mode>', 'what to load when POLICY is invalid, missing or cannot be applied').choices(ON_INVALID).default('fail'))
    .option('-t, --table <name>', 'the table whose records --rollback and --on-invalid use when POLICY does not say', parseTableName, 'secmarkc')
    .option('--retries <n>', 'retries when the ruleset changes under us', parseCount, DEFAULT_RETRIES)
    .option('--state-dir <dir>', 'where applied policies (and the last installed module text) are kept', DEFAULT_STATE_DIR)
    .option('--wait <seconds>', 'how long to wait for another secmarkc writing the same table (0: fail at once)', parseSeconds, DEFAULT_WAIT_SECONDS)
    .option('--allow-shared-labels', 'apply even if the audit finds domains outside an app that may use its packet types')
    .option('--no-audit', 'skip the exclusivity audit (it costs a load of the SELinux policy when that changed)')
    .option('--json', 'print what was done as one JSON object on stdout (whatever the outcome; errors stay on stderr)')
    // The report of --json, once the action is done (every return path of it).
    .hook('postAction', (_command, action) => (action.opts() as ApplyOptions).report.print());
  addPortsFromOption(addKernelOptions(command)).action(async (policyPath: string | undefined, options: ApplyOptions) => {
    const onInvalid = options.onInvalid;
    options.report = new ApplyReport(options.json === true, options.rollback ? 'rollback' : 'apply', options.table, policyPath, options.dryRun === true);
    const conflict = stdinConflict({ POLICY: policyPath, '--ports-from': options.portsFrom });
    if (conflict) return usage(conflict);
    if (options.rollback) {
      if (policyPath !== undefined) return usage('--rollback takes no POLICY: it loads the previous record from the state directory');
      return rollback(options);
    }
    if (policyPath === undefined) return usage('missing POLICY (or --rollback)');

    // A policy file that does not exist is not an invalid one: see missingPolicy.
    if (policyPath !== '-' && !policyExists(policyPath)) return missingPolicy(policyPath, onInvalid, options);
    const loaded = loadPolicyWithSource(policyPath, options, { programsMustExist: true });
    if (!loaded.ok) {
      if (onInvalid !== 'fail') await fallBack(onInvalid, options.table, `${policyPath} is ${loaded.reason}`, options);
      return;
    }
    const { compiled } = loaded.result;
    if (options.dryRun) return dryRun(rulesetFor(compiled.ruleset, options), compiled.module, options, 'policy');
    const table = compiled.ruleset.table;
    options.report.json.table = table;
    const session = await openSession(options, table, 'apply');
    if (!session) return;
    try {
      // Records name the policy by its absolute path: rollback, keep and status may run from elsewhere.
      const source = { path: policyPath === '-' ? '-' : resolve(policyPath), text: loaded.text };
      // The intent keeps a copy of the text and the compile's other inputs: killed before its record
      // file exists, this apply can still be compiled again, compared with the kernel and recorded.
      const inputs = intentInputs(loaded.file, loaded.result.portTable);
      if (!(await begin(session, 'apply', { kind: 'new-record', lsm: options.lsm, source, inputs }))) return;
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
          failRuntime(`cannot write the record to the state directory ${options.stateDir}: ${describeError(stagingError)}. Nothing was sent to the kernel.`);
          return;
        }
      }
      let applied: ApplyResult;
      try {
        const audit = options.audit ? (module: CilModule) => auditLoaded(loaded.result.policy, module, options) : undefined;
        const meanwhile = () => {
          faultPoint('sent');
          if (!recordFirst) stage();
        };
        applied = await load(compiled.ruleset, compiled.module, options, meanwhile, audit);
      } catch (error) {
        session.failed(error);
        if (error instanceof NotExclusiveError) {
          printDiagnostics(error.diagnostics);
          process.stderr.write(
            `secmarkc: refusing to apply ${policyPath}: its packet types are not exclusive (SMC060 above). The previous module ` +
              'and ruleset are in place. Remove the rules that grant them, or apply with --allow-shared-labels.\n',
          );
          process.exitCode = EXIT.invalid;
          if (onInvalid !== 'fail') await fallBack(onInvalid, table, `${policyPath}'s packet types are not exclusive`, options, session);
          return;
        }
        failRuntime(error instanceof ApplyError ? error.message : describeError(error));
        if (onInvalid !== 'fail') await fallBack(onInvalid, table, `${policyPath} could not be applied`, options, session);
        return;
      }
      options.report.json.loaded = 'policy';
      try {
        if (!staged) throw stagingError ?? new Error('internal error: the record was not built during the batch');
        session.commit();
        const { record } = staged;
        options.report.recordLive(record);
        session.history('apply', { source: record.source.path, digest: record.digest, generation: applied.generation });
      } catch (error) {
        // Loaded, but not recorded: the index still says what is pending, and the next writer
        // records what the kernel shows. Say what is live, exit 1.
        failRuntime(
          `the kernel applied ${policyPath} (generation ${applied.generation}), but recording it in ${options.stateDir} failed: ${describeError(error)}. ` +
            'The next apply, rollback or --on-invalid fallback records what is live; `secmarkc status` shows it now.',
        );
      }
      syncLabels(compiled.module, options);
    } finally {
      session.close();
    }
  });
}

/** The writer's session, or undefined after saying why not: nothing has been sent then. */
async function openSession(options: ApplyOptions, table: string, command: LoadCommand): Promise<WriterSession | undefined> {
  try {
    return await WriterSession.open(options, table, command, stderrNotes);
  } catch (error) {
    const denied = /EACCES|EPERM/.test(describeError(error)) && process.geteuid?.() !== 0;
    failRuntime(`${describeError(error)}${denied ? ' (apply needs root: CAP_NET_ADMIN, and the state directory)' : ''}. Nothing was sent to the kernel.`);
    return undefined;
  }
}

/** Write the intent; false after saying why not (and what is live): nothing has been sent then. */
async function begin(session: WriterSession, command: LoadCommand, load: Parameters<WriterSession['begin']>[1]): Promise<boolean> {
  try {
    session.begin(command, load);
    return true;
  } catch (error) {
    failRuntime(`cannot write to the state directory ${session.options.stateDir}: ${describeError(error)}. Nothing was sent to the kernel.`);
    await sayWhatIsLive(session);
    return false;
  }
}

/** After an error: what the kernel runs now, in words (best effort). */
async function sayWhatIsLive(session: WriterSession): Promise<void> {
  try {
    process.stderr.write(`secmarkc: the live table is ${describeLive(await session.live(), session.table)}\n`);
  } catch (error) {
    process.stderr.write(`secmarkc: cannot tell what is live: ${describeError(error)}\n`);
  }
}

function usage(message: string): void {
  process.stderr.write(`secmarkc: ${message}\n`);
  process.exitCode = EXIT.invalid;
}

function dryRun(ruleset: Ruleset, module: CilModule, options: ApplyOptions, loaded: 'policy' | 'previous'): void {
  const encoded = encodeRuleset(ruleset, { mode: 'replace' });
  const { report } = options;
  report.json.loaded = loaded;
  report.json.batch = { messages: encoded.messages.length, bytes: encoded.bytes.length, generation: null, attempts: null };
  if (options.module && options.lsm) {
    report.json.module = { name: module.name, installed: null };
    report.say(`would install CIL module ${module.name} if changed (semodule -i)`);
  }
  report.say(`would send one batch of ${encoded.messages.length} messages, ${encoded.bytes.length} bytes:`);
  for (const m of encoded.messages) report.say(`  ${m.seq}\t${m.type}\t${m.what}`);
}

/**
 * Module first (the secmark contexts name its types), then one batch. `audit` runs in between,
 * against the policy with the module in it; if it throws, the module before is put back.
 */
async function load(
  ruleset: Ruleset,
  module: CilModule | undefined,
  options: ApplyOptions,
  meanwhile?: () => void,
  audit?: (module: CilModule) => void,
): Promise<ApplyResult> {
  if (module && options.lsm) {
    const before = options.module && audit ? installedModule(module.name, options.stateDir) : undefined;
    const installed = installIfChanged(module, options);
    try {
      audit?.(module);
    } catch (error) {
      if (installed && before) process.stderr.write(`${restoreModule(module.name, before, options.stateDir)}\n`);
      throw error;
    }
  }
  const live = rulesetFor(ruleset, options);
  const applied = await withNetns(options, (netnsFd) =>
    replaceTable(live, {
      retries: options.retries,
      ...(netnsFd === undefined ? {} : { netnsFd }),
      ...(meanwhile === undefined ? {} : { meanwhile }),
      onRetry: (attempt, generation) => note(`the ruleset changed under us (generation ${generation}): nothing was applied; trying again (attempt ${attempt + 1})`),
    }),
  );
  options.report.json.batch = { messages: applied.messages, bytes: applied.bytes, generation: applied.generation, attempts: applied.attempts };
  options.report.say(
    `applied table inet ${live.table}: ${applied.messages} messages, ${applied.bytes} bytes, generation ${applied.generation}` +
      `${applied.attempts > 1 ? `, after ${applied.attempts} attempts` : ''}`,
  );
  return applied;
}

/** The module, with semodule only when its text changed (unless --no-module or --no-lsm). Whether semodule ran. */
function installIfChanged(module: CilModule, options: ApplyOptions): boolean {
  if (!options.lsm || !options.module) return false;
  const installed = installModule(module, options.stateDir);
  options.report.json.module = { name: module.name, installed };
  options.report.say(installed ? `installed CIL module ${module.name}` : `CIL module ${module.name} unchanged`);
  return installed;
}

/** --json: the last good policy is what the kernel runs because of this fallback. */
function keptReport(options: ApplyOptions, why: string, lastGood: AppliedRecord): void {
  options.report.json.fallback = { mode: 'keep', reason: why };
  options.report.json.loaded = 'last-good';
  options.report.recordLive(lastGood);
}

/**
 * The exclusivity audit of an apply, against the loaded policy (which now holds the module).
 * Throws NotExclusiveError on a leak unless --allow-shared-labels; warnings are printed.
 */
function auditLoaded(policy: Policy, module: CilModule, options: ApplyOptions): void {
  if (!existsSync(LOADED_POLICY)) return;
  let audit;
  try {
    audit = runAudit(policy, module, 'loaded', { dir: options.stateDir, write: true });
  } catch (error) {
    if (!(error instanceof MissingToolError)) throw error;
    process.stderr.write(`secmarkc: warning: exclusivity not audited: ${error.message}\n`);
    return;
  }
  const leaks = audit.diagnostics.some((d) => d.severity === 'error');
  if (leaks && !options.allowSharedLabels) throw new NotExclusiveError(audit.diagnostics);
  printDiagnostics(audit.diagnostics);
  if (leaks) process.stderr.write('secmarkc: warning: applying with labels that are not exclusive (--allow-shared-labels)\n');
}

async function rollback(options: ApplyOptions): Promise<void> {
  const { table, stateDir } = options;
  const nothingToRollBackTo = () =>
    failRuntime(
      `nothing to roll back to: no previous policy recorded for table ${table} in ${stateDir}; ` +
        'only one policy has been applied since records were kept. Nothing was changed.',
    );
  if (options.dryRun) {
    try {
      const previous = readRecord(stateDir, table, 'previous');
      if (!previous) return nothingToRollBackTo();
      options.report.recordLive(previous);
      return dryRun(rulesetFor(previous.ruleset, options), previous.module, options, 'previous');
    } catch (error) {
      return failRuntime(describeError(error));
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
      return failRuntime(`${describeError(error)}. Nothing was changed.`);
    }
    const { live } = await readLiveTable(options, table);
    if (sameTable(rulesetFor(previous.ruleset, options), live)) {
      const match = matchLive(stateDir, session.index, live, describeError);
      const says = describeClaim(stateDir, session.index);
      failRuntime(
        `the previous policy (${describeRecord(previous)}) is already live: rolling back would load it again. ` +
          `${match.what === 'current' ? '' : `The records say the live table is ${says}, but it is not (secmarkc status). `}Nothing was changed.`,
      );
      return;
    }
    if (!(await begin(session, 'rollback', { kind: 'record', file: previousEntry.file, lsm: options.lsm }))) return;
    let applied: ApplyResult;
    try {
      applied = await load(previous.ruleset, previous.module, options);
    } catch (error) {
      session.failed(error);
      return failRuntime(error instanceof ApplyError ? error.message : describeError(error));
    }
    try {
      session.commit();
      session.history('rollback', { to: previous.digest, from: currentEntry?.digest ?? null, generation: applied.generation });
    } catch (error) {
      return failRuntime(`the kernel rolled back to the policy ${describeRecord(previous)}, but recording it in ${stateDir} failed: ${describeError(error)}. The next writer records what is live.`);
    }
    options.report.json.loaded = 'previous';
    options.report.recordLive(previous);
    options.report.say(`rolled back table inet ${table} to the policy ${describeRecord(previous)}`);
    syncLabels(previous.module, options);
  } finally {
    session.close();
  }
}

/** False only when the path names nothing (ENOENT): anything else is for the reader to report. */
function policyExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

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
async function missingPolicy(path: string, onInvalid: OnInvalid, options: ApplyOptions): Promise<void> {
  const { table, stateDir } = options;
  if (onInvalid === 'keep' && !hasRecord(stateDir, table)) {
    const live = options.dryRun ? undefined : await liveSentence(table, options);
    note(
      `${path} does not exist and no policy was ever applied for table ${table} (no record in ${stateDir}): nothing to apply` +
        `${live ? `; ${live}` : ''}. Write the policy, then run: systemctl restart secmarkc (or secmarkc apply ${path}).`,
    );
    return;
  }
  failRuntime(`policy ${path} does not exist${onInvalid === 'fail' ? '. Nothing was changed.' : ''}`);
  if (onInvalid !== 'fail') await fallBack(onInvalid, table, `${path} does not exist`, options);
}

/** Whether our table is live, in words, for a fallback that loads nothing (best effort). */
async function liveSentence(table: string, options: ApplyOptions, session?: WriterSession): Promise<string> {
  try {
    if (session) {
      const match = await session.live();
      if (match.what !== 'none') return `the live table inet ${table} is left as it is: ${describeLive(match, table)}`;
    } else if ((await readLiveTable(options, table)).live) return `the live table inet ${table} is left as it is`;
    return `table inet ${table} is not loaded: secmarkc does not filter this host`;
  } catch (error) {
    return `cannot tell what is live: ${describeError(error)}`;
  }
}

/**
 * POLICY is invalid, missing or was refused: load the last good record (keep) or the lockdown
 * ruleset. keep never locks down: with no record it can trust, it loads nothing and leaves the
 * live ruleset alone; with the record live already, it sends nothing. The exit status set by the
 * failure stays: the service is marked failed either way. Runs in the apply's session when it
 * has one (the lock is held already).
 */
async function fallBack(mode: Exclude<OnInvalid, 'fail'>, table: string, why: string, options: ApplyOptions, given?: WriterSession): Promise<void> {
  const status = process.exitCode;
  const { stateDir } = options;
  /** The last good record; undefined after saying why there is none. */
  const lastGoodOf = (read: () => AppliedRecord | undefined): AppliedRecord | undefined => {
    try {
      const record = read();
      if (!record) note(`no last good policy recorded for table ${table} in ${stateDir}`);
      return record;
    } catch (error) {
      note(`${describeError(error)}: it cannot be loaded, so there is no last good policy`);
      return undefined;
    }
  };
  const nothingKept = (live: string) => {
    options.report.json.fallback = { mode: 'keep', reason: why };
    note(`${why}, and there is no last good policy to keep: nothing was loaded (keep never locks down); ${live}. Fix the policy, then run: systemctl restart secmarkc.`);
  };
  let session = given;
  try {
    if (options.dryRun) {
      const lastGood = mode === 'keep' ? lastGoodOf(() => readRecord(stateDir, table, 'current')) : undefined;
      options.report.json.fallback = { mode, reason: why };
      options.report.json.loaded = lastGood ? 'last-good' : mode === 'lockdown' ? 'lockdown' : null;
      if (lastGood) options.report.recordLive(lastGood);
      options.report.say(
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
        session = await WriterSession.open(options, table, mode, stderrNotes);
      } catch (error) {
        if (error instanceof LockError) throw error;
        // An untrusted or unreadable state directory holds no policy to keep, and can record nothing.
        note(`${describeError(error)}: ${mode === 'keep' ? 'no last good policy can be read there' : 'locking down without recording it'}`);
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
        if (session.index.live !== 'current' && (await begin(session, 'keep', { kind: 'record', file: current.file, lsm: options.lsm }))) session.commit();
        session.history('keep', { reason: why, digest: lastGood.digest, unchanged: true });
        keptReport(options, why, lastGood);
        note(`${why}: the last good policy, ${describeRecord(lastGood)}, is live already: left as it is. Fix the policy, then run: systemctl restart secmarkc.`);
        return;
      }
      const recorded = await begin(session, 'keep', { kind: 'record', file: current.file, lsm: options.lsm });
      if (!recorded) note('loading the fallback without recording it');
      const applied = await load(lastGood.ruleset, lastGood.module, options);
      if (recorded) commitFallback(session, 'keep', { reason: why, digest: lastGood.digest, generation: applied.generation });
      keptReport(options, why, lastGood);
      syncLabels(lastGood.module, options);
      note(`${why}: kept the last good policy, ${describeRecord(lastGood)}. Fix the policy, then run: systemctl restart secmarkc.`);
      return;
    }
    const recorded = session !== undefined && (await begin(session, 'lockdown', { kind: 'lockdown' }));
    if (session && !recorded) note('loading the fallback without recording it');
    const applied = await load(lockdownRuleset(table), undefined, { ...options, lsm: true });
    if (recorded) commitFallback(session!, 'lockdown', { reason: why, generation: applied.generation });
    options.report.json.fallback = { mode: 'lockdown', reason: why };
    options.report.json.loaded = 'lockdown';
    options.report.json.record = null;
    note(`${why}: LOCKDOWN: table inet ${table} now drops all traffic except loopback. Fix the policy, then run: systemctl restart secmarkc.`);
  } catch (error) {
    session?.failed(error);
    failRuntime(`${why}, and the ${mode} fallback failed too: ${error instanceof ApplyError ? error.message : describeError(error)}`);
  } finally {
    if (session !== given) session?.close();
    process.exitCode = status === undefined || status === 0 ? EXIT.failure : status;
  }
}

/** A fallback was loaded: the index says so, and the history. */
function commitFallback(session: WriterSession, event: 'keep' | 'lockdown', detail: Record<string, unknown>): void {
  try {
    session.commit();
    session.history(event, detail);
  } catch (error) {
    note(`loaded, but recording it in ${session.options.stateDir} failed: ${describeError(error)}`);
  }
}

/**
 * After a load: the files of the module's programs get their exec type, files no longer listed
 * their own label back. Only where the module itself was installed (the file contexts are its).
 * A failure leaves the ruleset as loaded and says so (exit 1); `status` shows each such file.
 */
function syncLabels(module: CilModule, options: ApplyOptions): void {
  if (!options.lsm || !options.module) return;
  if (module.programs.length === 0 && !existsSync(journalPath(options.stateDir, module.name))) return;
  try {
    for (const change of syncProgramLabels(module.programs, options.stateDir, module.name)) options.report.label(change);
  } catch (error) {
    failRuntime(`the ruleset is loaded, but the program files could not all be labelled: ${describeError(error)}. \`secmarkc status\` lists them; apply again once fixed.`);
  }
}

function note(message: string): void {
  process.stderr.write(`secmarkc: ${message}\n`);
}
