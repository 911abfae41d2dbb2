// `secmarkc apply POLICY`: install the CIL module if it changed, then replace our table in one
// atomic batch, and record what was applied (src/records/state.ts). `--rollback` loads the
// recorded previous policy instead; `--on-invalid keep|lockdown` says what to load when POLICY
// is invalid or cannot be applied (the systemd unit uses it at boot and on reload). The workflow
// is src/apply/ (apply-policy.ts, rollback.ts, fallback.ts, load.ts); here are its options, the
// exclusivity audit it runs, and the printing of what it reports.

import { Option, type Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { DEFAULT_RETRIES } from '../apply/apply.js';
import { applyPolicy } from '../apply/apply-policy.js';
import { fallBack, missingPolicy, ON_INVALID, type OnInvalid } from '../apply/fallback.js';
import { rulesetFor } from '../apply/kernel-target.js';
import { dryRun, type ApplyJson, type LoadReport, type LoadRunOptions } from '../apply/load.js';
import { rollback } from '../apply/rollback.js';
import { DEFAULT_WAIT_SECONDS } from '../apply/state-session.js';
import { NotExclusiveError } from '../audit/exclusive.js';
import type { CilModule } from '../compile/ir.js';
import type { Diagnostic } from '../policy/diagnostics.js';
import type { Policy } from '../policy/types.js';
import type { LabelChange } from '../programs/sync-labels.js';
import type { AppliedRecord } from '../records/state.js';
import { DEFAULT_STATE_DIR } from '../records/state-dir.js';
import { LOADED_POLICY } from '../selinux/packet-users.js';
import { MissingToolError } from '../selinux/tools.js';
import { EXIT } from './exit-codes.js';
import { runAudit } from './exclusivity.js';
import { stdinConflict } from './io.js';
import { addKernelOptions } from './kernel-options.js';
import { addPortsFromOption, loadPolicyWithSource, type PortsFromOption } from './load-policy.js';
import { stderrNotes } from './notes.js';
import { parseCount, parseSeconds, parseTableName } from './option-parsers.js';
import { labelJson } from './remove-command.js';
import { failError, failRuntime, printDiagnostics } from './report.js';

interface ApplyOptions extends LoadRunOptions, PortsFromOption {
  rollback?: boolean;
  onInvalid: OnInvalid;
  allowSharedLabels?: boolean;
  /** false with --no-audit. */
  audit: boolean;
  json?: boolean;
  report: ApplyReport;
}

/** What the workflow reports, printed: lines on stdout as it goes, or one JSON object at the end (--json); notes and errors on stderr. */
class ApplyReport implements LoadReport {
  readonly json: ApplyJson;
  readonly note = stderrNotes.note;
  readonly describe = stderrNotes.describe;

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

  fail(message: string): void {
    failRuntime(message);
  }

  invalid(diagnostics: readonly Diagnostic[], message: string): void {
    printDiagnostics(diagnostics);
    process.stderr.write(`secmarkc: ${message}\n`);
    process.exitCode = EXIT.invalid;
  }

  /** A refused or failed load: its diagnostics (where in the policy), then the message. */
  failLoad(error: unknown, context?: string): void {
    failError(error, context);
  }

  moduleRestored(message: string): void {
    process.stderr.write(`${message}\n`);
  }

  async keepStatus(fallback: () => Promise<void>): Promise<void> {
    const status = process.exitCode;
    try {
      await fallback();
    } finally {
      process.exitCode = status === undefined || status === 0 ? EXIT.failure : status;
    }
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
    const { compiled, policy, portTable } = loaded.result;
    if (options.dryRun) return dryRun(rulesetFor(compiled.ruleset, options), compiled.module, options, 'policy');
    const audit = options.audit ? (module: CilModule) => auditLoaded(policy, module, options) : undefined;
    const notBootable = notBootableWhy(options);
    await applyPolicy({ path: policyPath, text: loaded.text, file: loaded.file, compiled, portTable, ...(notBootable ? { notBootable } : {}) }, onInvalid, options, audit);
  });
}

/**
 * The options under which the unit's own apply (`apply --on-invalid MODE --state-dir DIR POLICY`)
 * could load something else than this apply: then it leaves no boot file for secmarkc-boot.
 */
function notBootableWhy(options: ApplyOptions): string | undefined {
  if (options.portsFrom !== undefined) return '--ports-from';
  if (options.netns !== undefined) return '--netns';
  if (!options.lsm) return undefined;
  if (!options.module) return '--no-module';
  if (!options.audit) return '--no-audit';
  if (options.allowSharedLabels) return '--allow-shared-labels';
  return undefined;
}

function usage(message: string): void {
  process.stderr.write(`secmarkc: ${message}\n`);
  process.exitCode = EXIT.invalid;
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

/** False only when the path names nothing (ENOENT): anything else is for the reader to report. */
function policyExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
