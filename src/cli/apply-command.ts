// `secmarkc apply POLICY`: install the CIL module if it changed, then replace our table in one
// atomic batch, and record what was applied (src/apply/state.ts). `--rollback` loads the
// recorded previous policy instead; `--on-invalid keep|lockdown` says what to load when POLICY
// is invalid or cannot be applied (the systemd unit uses it at boot and on reload).

import type { Command } from 'commander';
import { ApplyError, DEFAULT_RETRIES, replaceTable, type ApplyResult } from '../apply/apply.js';
import { appendHistory, commitRecord, discardRecord, makeRecord, readRecord, recordRollback, stageRecord, statePaths, type AppliedRecord, type StagedRecord } from '../apply/state.js';
import type { CilModule, Ruleset } from '../compile/ir.js';
import { lockdownRuleset } from '../compile/lockdown.js';
import { encodeRuleset } from '../netlink/encode-ruleset.js';
import { existsSync } from 'node:fs';
import type { Policy } from '../policy/types.js';
import { LOADED_POLICY } from '../selinux/packet-users.js';
import { DEFAULT_STATE_DIR, installedModule, installModule, restoreModule } from '../selinux/semodule.js';
import { MissingToolError } from '../selinux/tools.js';
import { EXIT } from './exit-codes.js';
import { NotExclusiveError, runAudit } from './exclusivity.js';
import { addKernelOptions, rulesetFor, withNetns, type KernelOptions } from './kernel-options.js';
import { addPortsFromOption, loadPolicyWithSource, type PortsFromOption } from './load-policy.js';
import { describeError, failRuntime, printDiagnostics } from './report.js';

export const ON_INVALID = ['fail', 'keep', 'lockdown'] as const;
export type OnInvalid = (typeof ON_INVALID)[number];

interface ApplyOptions extends KernelOptions, PortsFromOption {
  module: boolean;
  dryRun?: boolean;
  rollback?: boolean;
  onInvalid: string;
  table: string;
  retries: string;
  stateDir: string;
  allowSharedLabels?: boolean;
}

const TABLE_NAME = /^[a-z][a-z0-9_]{0,31}$/;

export function registerApply(program: Command): void {
  const command = program
    .command('apply')
    .summary('install the CIL module (if changed) and replace the ruleset atomically')
    .description(
      'Compile POLICY, install its CIL module with semodule (only when its text changed), then replace ' +
        'table inet <table> in one nf_tables batch: all or nothing, checked against the ruleset ' +
        'generation and retried if another program changed the ruleset meanwhile. A refused batch ' +
        'leaves the previous ruleset exactly as it was. Needs root (CAP_NET_ADMIN, and semodule).\n\n' +
        'Each successful apply is recorded in compiled form in the state directory (TABLE.applied.json; ' +
        'the one before it in TABLE.previous.json, events in TABLE.history). --rollback loads the ' +
        'previous record (module first if it differs, then one batch) and swaps the two, so a second ' +
        '--rollback returns to where you were. With nothing to roll back to it fails and changes nothing.\n\n' +
        '--on-invalid says what happens when POLICY is invalid, unreadable or refused: fail (change ' +
        'nothing; the default), keep (load the last successfully applied policy; lockdown if there is ' +
        'none), lockdown (load a ruleset in our table that drops everything but loopback). The exit ' +
        'status stays non-zero (2 invalid, 1 runtime) so that a service manager marks the start failed.\n\n' +
        'Between the module and the batch, the exclusivity audit asks the loaded SELinux policy who may use ' +
        'each packet type (as `secmarkc check` does). If a rule lets a domain outside the app use one (SMC060), ' +
        'apply puts the previous module back, changes nothing in nftables and exits 2, unless ' +
        '--allow-shared-labels is given. Without setools it warns and goes on.',
    )
    .argument('[policy]', 'policy file, or - for stdin')
    .option('--no-module', 'do not install the CIL module (it is already loaded, or managed elsewhere)')
    .option('--dry-run', 'print the messages that would be sent, and send nothing')
    .option('--rollback', 'load the previously applied policy from the state directory (no POLICY)')
    .option('--on-invalid <mode>', `what to load when POLICY is invalid or cannot be applied: ${ON_INVALID.join(' | ')}`, 'fail')
    .option('-t, --table <name>', 'the table whose records --rollback and --on-invalid use when POLICY does not say', 'secmarkc')
    .option('--retries <n>', 'retries when the ruleset changes under us', String(DEFAULT_RETRIES))
    .option('--state-dir <dir>', 'where applied policies (and the last installed module text) are kept', DEFAULT_STATE_DIR)
    .option('--allow-shared-labels', 'apply even if the audit finds domains outside an app that may use its packet types');
  addPortsFromOption(addKernelOptions(command)).action(async (policyPath: string | undefined, options: ApplyOptions) => {
    const onInvalid = options.onInvalid as OnInvalid;
    if (!ON_INVALID.includes(onInvalid)) return usage(`--on-invalid must be one of ${ON_INVALID.join(', ')}, not "${options.onInvalid}"`);
    if (!TABLE_NAME.test(options.table)) return usage(`invalid table name "${options.table}"`);
    if (options.rollback) {
      if (policyPath !== undefined) return usage('--rollback takes no POLICY: it loads the previous record from the state directory');
      return rollback(options);
    }
    if (policyPath === undefined) return usage('missing POLICY (or --rollback)');

    const loaded = loadPolicyWithSource(policyPath, options);
    if (!loaded.ok) {
      if (onInvalid !== 'fail') await fallBack(onInvalid, options.table, `${policyPath} is ${loaded.reason}`, options);
      return;
    }
    const { compiled } = loaded.result;
    if (options.dryRun) return dryRun(rulesetFor(compiled.ruleset, options), compiled.module, options);
    // The record is built and written beside its place while the kernel processes the batch (it
    // does not depend on the outcome), then renamed into place if the batch was applied.
    let staged: StagedRecord | undefined;
    let stagingError: unknown;
    const stage = (): void => {
      try {
        staged = stageRecord(options.stateDir, makeRecord(compiled, { path: policyPath, text: loaded.text }));
      } catch (error) {
        stagingError = error;
      }
    };
    let applied: ApplyResult;
    try {
      applied = await load(compiled.ruleset, compiled.module, options, stage, (module) => auditLoaded(loaded.result.policy, module, options));
    } catch (error) {
      if (staged) discardRecord(staged);
      if (error instanceof NotExclusiveError) {
        printDiagnostics(error.diagnostics);
        process.stderr.write(
          `secmarkc: refusing to apply ${policyPath}: its packet types are not exclusive (SMC060 above). The previous module ` +
            'and ruleset are in place. Remove the rules that grant them, or apply with --allow-shared-labels.\n',
        );
        process.exitCode = EXIT.invalid;
        if (onInvalid !== 'fail') await fallBack(onInvalid, compiled.ruleset.table, `${policyPath}'s packet types are not exclusive`, options);
        return;
      }
      failRuntime(error instanceof ApplyError ? error.message : describeError(error));
      if (onInvalid !== 'fail') await fallBack(onInvalid, compiled.ruleset.table, `${policyPath} could not be applied`, options);
      return;
    }
    try {
      if (!staged) throw stagingError ?? new Error('internal error: the record was not built during the batch');
      commitRecord(staged);
      const { record } = staged;
      appendHistory(options.stateDir, record.table, 'apply', { source: record.source.path, digest: record.digest, generation: applied.generation });
    } catch (error) {
      // Loaded, but not recorded: rollback and keep would use an older record. Say so, exit 1.
      failRuntime(`the policy is applied, but recording it in ${options.stateDir} failed: ${describeError(error)}`);
    }
  });
}

function usage(message: string): void {
  process.stderr.write(`secmarkc: ${message}\n`);
  process.exitCode = EXIT.invalid;
}

function dryRun(ruleset: Ruleset, module: CilModule, options: ApplyOptions): void {
  const encoded = encodeRuleset(ruleset, { mode: 'replace' });
  if (options.module && options.lsm) process.stdout.write(`would install CIL module ${module.name} if changed (semodule -i)\n`);
  process.stdout.write(`would send one batch of ${encoded.messages.length} messages, ${encoded.bytes.length} bytes:\n`);
  for (const m of encoded.messages) process.stdout.write(`  ${m.seq}\t${m.type}\t${m.what}\n`);
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
    const installed = options.module && installModule(module, options.stateDir);
    if (options.module) process.stderr.write(installed ? `installed CIL module ${module.name}\n` : `CIL module ${module.name} unchanged\n`);
    try {
      audit?.(module);
    } catch (error) {
      if (installed && before) process.stderr.write(`${restoreModule(module.name, before, options.stateDir)}\n`);
      throw error;
    }
  }
  const retries = Number(options.retries);
  const live = rulesetFor(ruleset, options);
  const applied = await withNetns(options, (netnsFd) =>
    replaceTable(live, {
      retries: Number.isInteger(retries) && retries >= 0 ? retries : DEFAULT_RETRIES,
      ...(netnsFd === undefined ? {} : { netnsFd }),
      ...(meanwhile === undefined ? {} : { meanwhile }),
    }),
  );
  process.stderr.write(
    `applied table inet ${live.table}: ${applied.messages} messages, ${applied.bytes} bytes, generation ${applied.generation}` +
      `${applied.attempts > 1 ? `, after ${applied.attempts} attempts` : ''}\n`,
  );
  return applied;
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

function describeRecord(r: AppliedRecord): string {
  return `compiled from ${r.source.path} (sha256 ${r.source.sha256.slice(0, 12)}), applied ${r.appliedAt}`;
}

async function rollback(options: ApplyOptions): Promise<void> {
  const { table, stateDir } = options;
  try {
    const previous = readRecord(stateDir, table, 'previous');
    if (!previous) {
      failRuntime(
        `nothing to roll back to: no previous policy recorded for table ${table} (${statePaths(stateDir, table).previous}); ` +
          'only one policy has been applied since records were kept. Nothing was changed.',
      );
      return;
    }
    const current = readRecord(stateDir, table, 'current');
    if (options.dryRun) return dryRun(rulesetFor(previous.ruleset, options), previous.module, options);
    const applied = await load(previous.ruleset, previous.module, options);
    recordRollback(stateDir, previous, current);
    appendHistory(stateDir, table, 'rollback', { to: previous.digest, from: current?.digest ?? null, generation: applied.generation });
    process.stderr.write(`rolled back table inet ${table} to the policy ${describeRecord(previous)}\n`);
  } catch (error) {
    failRuntime(error instanceof ApplyError ? error.message : describeError(error));
  }
}

/**
 * POLICY is invalid or was refused: load the last good record (keep) or the lockdown ruleset.
 * The exit status set by the failure stays: the service is marked failed either way.
 */
async function fallBack(mode: Exclude<OnInvalid, 'fail'>, table: string, why: string, options: ApplyOptions): Promise<void> {
  const status = process.exitCode;
  const { stateDir } = options;
  try {
    let lastGood: AppliedRecord | undefined;
    if (mode === 'keep') {
      try {
        lastGood = readRecord(stateDir, table, 'current');
      } catch (error) {
        process.stderr.write(`secmarkc: ${describeError(error)}\n`);
      }
    }
    if (options.dryRun) {
      process.stdout.write(lastGood ? `would load the last good policy, ${describeRecord(lastGood)}\n` : `would lock down table inet ${table} (drop all but loopback)\n`);
    } else if (lastGood) {
      const applied = await load(lastGood.ruleset, lastGood.module, options);
      appendHistory(stateDir, table, 'keep', { reason: why, digest: lastGood.digest, generation: applied.generation });
      process.stderr.write(
        `secmarkc: ${why}: kept the last good policy, ${describeRecord(lastGood)}. Fix the policy, then run: systemctl restart secmarkc.\n`,
      );
    } else {
      if (mode === 'keep') process.stderr.write(`secmarkc: no last good policy recorded for table ${table} in ${stateDir}: locking down instead\n`);
      const applied = await load(lockdownRuleset(table), undefined, { ...options, lsm: true });
      appendHistory(stateDir, table, 'lockdown', { reason: why, generation: applied.generation });
      process.stderr.write(
        `secmarkc: ${why}: LOCKDOWN: table inet ${table} now drops all traffic except loopback. Fix the policy, then run: systemctl restart secmarkc.\n`,
      );
    }
  } catch (error) {
    failRuntime(`${why}, and the ${mode} fallback failed too: ${error instanceof ApplyError ? error.message : describeError(error)}`);
  }
  process.exitCode = status === undefined || status === 0 ? EXIT.failure : status;
}
