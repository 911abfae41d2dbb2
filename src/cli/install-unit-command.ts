// `secmarkc install-unit`: write secmarkc.service with this installation's absolute paths, then
// `systemctl daemon-reload` (when systemd runs) and `systemctl enable`. It never starts the unit:
// starting applies the policy, which the administrator does deliberately. The report (what was
// written and run) goes to stdout, or one JSON object with --json; notes on what the next boot
// will do with the policy as it is now go to stderr.

import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { hasRecord, ON_INVALID, type OnInvalid } from '../apply/fallback.js';
import { compilePolicy } from '../compile/compile.js';
import { DEFAULT_STATE_DIR } from '../records/state-dir.js';
import { runTool } from '../selinux/tools.js';
import { findBootLoader } from '../systemd/boot-loader.js';
import { renderUnit, UnitError } from '../systemd/unit.js';
import { EXIT } from './exit-codes.js';
import { writeFileAtomic } from './io.js';
import { describeError, failRuntime } from './report.js';

export const UNIT_NAME = 'secmarkc.service';
export const DEFAULT_UNIT_DIR = '/etc/systemd/system';
export const DEFAULT_POLICY = '/etc/secmarkc/policy.yaml';

/** The package folder: this file is dist/cli/ (or src/cli/ when run from source). */
const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface InstallUnitOptions {
  unitDir: string;
  policy: string;
  onInvalid: string;
  stateDir: string;
  selinuxContext?: string;
  enable: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * What the unit will do at its next start with the policy file as it is now:
 * apply it; nothing to apply yet (keep, no policy, no record); keep the last applied policy;
 * load nothing (fail, or keep without a record); lock down.
 */
export type BootAction = 'apply' | 'nothing-to-apply' | 'keep-last-applied' | 'load-nothing' | 'lockdown';

/** The --json report: one object, stable keys (README, "install-unit --json"). */
export interface InstallUnitReport {
  readonly unit: string;
  /** False with --dry-run. */
  readonly written: boolean;
  /** `systemctl enable` ran (or would, with --dry-run). */
  readonly enabled: boolean;
  readonly policy: { readonly path: string; readonly exists: boolean; readonly valid: boolean | null };
  readonly table: string;
  readonly onInvalid: OnInvalid;
  readonly stateDir: string;
  /** A policy applied earlier is recorded for the table in stateDir. */
  readonly recorded: boolean;
  readonly atBoot: BootAction;
  /** systemctl argument lists, in order: run, or with --dry-run to be run. */
  readonly commands: readonly (readonly string[])[];
  readonly dryRun: boolean;
  /** secmarkc-boot, which ExecStart runs first (the fast boot path); null: not found, ExecStart is the full apply. */
  readonly bootLoader: string | null;
  /** With --dry-run: the unit text that would be written. */
  readonly text?: string;
}

export function registerInstallUnit(program: Command): void {
  program
    .command('install-unit')
    .summary('install the systemd unit that applies the policy at boot')
    .description(
      `Write ${UNIT_NAME} (from packaging/systemd/) with the absolute paths of this installation, run ` +
        '`systemctl daemon-reload` if systemd is running and `systemctl enable` (unless --no-enable). The unit ' +
        'applies POLICY before network-pre.target (and again after nftables.service, whose ruleset flush deletes ' +
        'our table), with --on-invalid deciding what to load if the policy is invalid, missing or refused; ' +
        '`systemctl reload secmarkc` re-applies atomically; stopping it leaves the filter in place. ' +
        'It is not started: run `systemctl start secmarkc` (or reboot) when the policy is ready.\n\n' +
        'At boot the unit runs secmarkc-boot first (the prebuilt one for this machine, else a source build; ' +
        'without one, the unit runs the full apply and install-unit says so): it loads the batch the last apply ' +
        'recorded, without Node and without compiling, when the policy file, the records and the SELinux policy ' +
        'are still what that apply had, and runs the full apply otherwise (README, "At boot").\n\n' +
        'Installing the unit before the policy is safe with keep (the default): with no policy file and no ' +
        'policy ever applied, the unit applies nothing, stays active and says so. It says on stderr what the ' +
        'next boot will do with the policy as it is now; with lockdown and no valid policy, that is a host cut ' +
        'off from everything but loopback.\n\n' +
        'Reports what it wrote and ran on stdout (--json: one object with unit, written, enabled, policy ' +
        '{path, exists, valid}, table, onInvalid, stateDir, recorded, atBoot, commands, bootLoader, dryRun), notes on stderr.',
    )
    .option('--unit-dir <dir>', 'where to write the unit', DEFAULT_UNIT_DIR)
    .option('--policy <path>', 'the policy the unit applies', DEFAULT_POLICY)
    .addOption(new Option('--on-invalid <mode>', 'what the unit loads when the policy is invalid, missing or refused').choices(ON_INVALID).default('keep'))
    .option('--state-dir <dir>', 'where applied policies are kept', DEFAULT_STATE_DIR)
    .option('--selinux-context <context>', 'run the service in this SELinux context (SELinuxContext=), e.g. system_u:system_r:initrc_t:s0')
    .option('--no-enable', 'write the unit only: no systemctl enable')
    .option('--dry-run', 'print the unit and the commands, change nothing')
    .option('--json', 'report as one JSON object on stdout')
    .action((options: InstallUnitOptions) => {
      try {
        installUnit(options);
      } catch (error) {
        if (error instanceof UnitError) {
          process.stderr.write(`secmarkc: ${error.message}\n`);
          process.exitCode = EXIT.invalid;
        } else failRuntime(describeError(error));
      }
    });
}

/** The policy as it is now: whether it exists and compiles, and the table it names. */
function policyState(path: string): { exists: boolean; valid: boolean | null; table: string } {
  if (!existsSync(path)) return { exists: false, valid: null, table: 'secmarkc' };
  let compiled;
  try {
    compiled = compilePolicy(readFileSync(path, 'utf8'), path);
  } catch {
    return { exists: true, valid: false, table: 'secmarkc' };
  }
  return compiled.ok ? { exists: true, valid: true, table: compiled.compiled.ruleset.table } : { exists: true, valid: false, table: 'secmarkc' };
}

export function bootAction(onInvalid: OnInvalid, policy: { exists: boolean; valid: boolean | null }, recorded: boolean): BootAction {
  if (policy.valid) return 'apply';
  if (onInvalid === 'lockdown') return 'lockdown';
  if (onInvalid === 'fail') return 'load-nothing';
  if (recorded) return 'keep-last-applied';
  return policy.exists ? 'load-nothing' : 'nothing-to-apply';
}

/** The stderr note on what the next start does, when that is not simply applying the policy. */
function bootNote(r: InstallUnitReport): string | undefined {
  const { path, exists } = r.policy;
  const state = exists ? `${path} is not valid now (secmarkc check ${path})` : `${path} does not exist yet`;
  switch (r.atBoot) {
    case 'apply':
      return undefined;
    case 'nothing-to-apply':
      return `note: ${state}. Until it does, the unit applies nothing at boot and stays active: this host is not filtered by secmarkc (and stays reachable). Write the policy, then: systemctl restart secmarkc`;
    case 'keep-last-applied':
      return `note: ${state}: at boot the unit keeps the policy last applied for table ${r.table} (recorded in ${r.stateDir}) and is marked failed until the policy is fixed`;
    case 'load-nothing':
      return `note: ${state}: at boot the unit loads nothing and is marked failed (--on-invalid ${r.onInvalid}${r.onInvalid === 'keep' ? ', and no policy was ever applied' : ''}): this host is not filtered by secmarkc until the policy is fixed`;
    case 'lockdown':
      return `warning: ${state}: with --on-invalid lockdown the next boot LOCKS DOWN this host (all traffic dropped except loopback): reached over the network, it is cut off. Write a valid policy first, or install with --on-invalid keep`;
  }
}

function installUnit(options: InstallUnitOptions): void {
  const policyPath = resolve(options.policy);
  const onInvalid = options.onInvalid as OnInvalid;
  const stateDir = resolve(options.stateDir);
  const policy = policyState(policyPath);
  const found = findBootLoader(PACKAGE_DIR);
  const bootLoader = found === undefined ? undefined : realpathSync(found);
  const text = renderUnit(readFileSync(join(PACKAGE_DIR, 'packaging', 'systemd', UNIT_NAME), 'utf8'), {
    node: realpathSync(process.execPath),
    secmarkc: realpathSync(join(PACKAGE_DIR, 'bin', 'secmarkc.js')),
    installDir: realpathSync(PACKAGE_DIR),
    policy: policyPath,
    stateDir,
    onInvalid,
    ...(policy.table === 'secmarkc' ? {} : { table: policy.table }),
    ...(options.selinuxContext ? { selinuxContext: options.selinuxContext } : {}),
    ...(bootLoader ? { bootLoader } : {}),
  });
  const unitDir = resolve(options.unitDir);
  const unitPath = join(unitDir, UNIT_NAME);
  const systemdRunning = existsSync('/run/systemd/system');
  // systemctl only knows units in its search path: for another folder (an image being built), write only.
  const standardDir = unitDir === DEFAULT_UNIT_DIR;
  const commands: string[][] = [];
  if (standardDir && systemdRunning) commands.push(['daemon-reload']);
  if (standardDir && options.enable) commands.push(['enable', UNIT_NAME]);
  const recorded = hasRecord(stateDir, policy.table);
  const report: InstallUnitReport = {
    unit: unitPath,
    written: !options.dryRun,
    enabled: standardDir && options.enable,
    policy: { path: policyPath, exists: policy.exists, valid: policy.valid },
    table: policy.table,
    onInvalid,
    stateDir,
    recorded,
    atBoot: bootAction(onInvalid, policy, recorded),
    commands: commands.map((c) => ['systemctl', ...c]),
    bootLoader: bootLoader ?? null,
    dryRun: options.dryRun === true,
    ...(options.dryRun ? { text } : {}),
  };
  const out = (line: string) => {
    if (!options.json) process.stdout.write(`${line}\n`);
  };
  const note = bootNote(report);
  if (note) process.stderr.write(`secmarkc: ${note}\n`);
  if (!bootLoader) {
    process.stderr.write(
      `secmarkc: note: no secmarkc-boot for ${process.platform}-${process.arch} in ${PACKAGE_DIR} (prebuilds/ or build/bin/): the unit runs the full apply (node) at every boot. ` +
        'Build it with a C++ compiler: npm rebuild secmarkc, then install-unit again\n',
    );
  }

  if (options.dryRun) {
    out(`# would write ${unitPath}\n${text.replace(/\n$/, '')}`);
    for (const c of commands) out(`# would run: systemctl ${c.join(' ')}`);
  } else {
    mkdirSync(unitDir, { recursive: true });
    writeFileAtomic(unitPath, text);
    out(`wrote ${unitPath}`);
    // Without a running systemd (an image being prepared), systemctl enable works on the files alone.
    if (!systemdRunning) process.env.SYSTEMD_OFFLINE = '1';
    for (const c of commands) {
      const r = runTool('systemctl', c);
      if (r.status !== 0) throw new Error(`systemctl ${c.join(' ')} failed: ${r.stderr.trim()}`);
      out(`ran systemctl ${c.join(' ')}`);
    }
    if (!standardDir) out(`${unitDir} is not ${DEFAULT_UNIT_DIR}: enable it yourself where systemd will see it`);
    else if (!options.enable) out(`not enabled: systemctl enable ${UNIT_NAME}`);
    out(report.atBoot === 'apply' ? 'next: systemctl start secmarkc (or reboot)' : `next: put a valid policy in ${policyPath}, then systemctl restart secmarkc (or reboot)`);
  }
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}
