// `secmarkc install-unit`: write secmarkc.service with this installation's absolute paths, then
// `systemctl daemon-reload` (when systemd runs) and `systemctl enable`. It never starts the unit:
// starting applies the policy, which the administrator does deliberately.

import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { compilePolicy } from '../compile/compile.js';
import { DEFAULT_STATE_DIR } from '../selinux/semodule.js';
import { runTool } from '../selinux/tools.js';
import { renderUnit, UnitError } from '../systemd/unit.js';
import { ON_INVALID, type OnInvalid } from './apply-command.js';
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
}

export function registerInstallUnit(program: Command): void {
  program
    .command('install-unit')
    .summary('install the systemd unit that applies the policy at boot')
    .description(
      `Write ${UNIT_NAME} (from packaging/systemd/) with the absolute paths of this installation, run ` +
        '`systemctl daemon-reload` if systemd is running and `systemctl enable` (unless --no-enable). The unit ' +
        'applies POLICY before network-pre.target, with --on-invalid deciding what to load if the policy is ' +
        'invalid; `systemctl reload secmarkc` re-applies atomically; stopping it leaves the filter in place. ' +
        'It is not started: run `systemctl start secmarkc` (or reboot) when the policy is ready.',
    )
    .option('--unit-dir <dir>', 'where to write the unit', DEFAULT_UNIT_DIR)
    .option('--policy <path>', 'the policy the unit applies', DEFAULT_POLICY)
    .option('--on-invalid <mode>', `what the unit loads when the policy is invalid or refused: ${ON_INVALID.join(' | ')}`, 'keep')
    .option('--state-dir <dir>', 'where applied policies are kept', DEFAULT_STATE_DIR)
    .option('--selinux-context <context>', 'run the service in this SELinux context (SELinuxContext=), e.g. system_u:system_r:initrc_t:s0')
    .option('--no-enable', 'write the unit only: no systemctl enable')
    .option('--dry-run', 'print the unit and the commands, change nothing')
    .action((options: InstallUnitOptions) => {
      if (!ON_INVALID.includes(options.onInvalid as OnInvalid)) {
        process.stderr.write(`secmarkc: --on-invalid must be one of ${ON_INVALID.join(', ')}, not "${options.onInvalid}"\n`);
        process.exitCode = EXIT.invalid;
        return;
      }
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

/** The table the policy names (if it compiles and names one other than the default). */
function policyTable(path: string): { table?: string; problem?: string } {
  if (!existsSync(path)) return { problem: `${path} does not exist yet: until it does, the unit falls back at every start` };
  const compiled = compilePolicy(readFileSync(path, 'utf8'), path);
  if (!compiled.ok) return { problem: `${path} is not valid now (secmarkc check ${path}): the unit would fall back at start` };
  const table = compiled.compiled.ruleset.table;
  return table === 'secmarkc' ? {} : { table };
}

function installUnit(options: InstallUnitOptions): void {
  const policy = resolve(options.policy);
  const { table, problem } = policyTable(policy);
  const text = renderUnit(readFileSync(join(PACKAGE_DIR, 'packaging', 'systemd', UNIT_NAME), 'utf8'), {
    node: realpathSync(process.execPath),
    secmarkc: realpathSync(join(PACKAGE_DIR, 'bin', 'secmarkc.js')),
    installDir: realpathSync(PACKAGE_DIR),
    policy,
    stateDir: resolve(options.stateDir),
    onInvalid: options.onInvalid,
    ...(table ? { table } : {}),
    ...(options.selinuxContext ? { selinuxContext: options.selinuxContext } : {}),
  });
  const unitDir = resolve(options.unitDir);
  const unitPath = join(unitDir, UNIT_NAME);
  const systemdRunning = existsSync('/run/systemd/system');
  // systemctl only knows units in its search path: for another folder (an image being built), write only.
  const standardDir = unitDir === DEFAULT_UNIT_DIR;
  const commands: string[][] = [];
  if (standardDir && systemdRunning) commands.push(['daemon-reload']);
  if (standardDir && options.enable) commands.push(['enable', UNIT_NAME]);

  if (problem) process.stderr.write(`secmarkc: warning: ${problem}\n`);
  if (options.dryRun) {
    process.stdout.write(`# would write ${unitPath}\n${text}`);
    for (const c of commands) process.stdout.write(`# would run: systemctl ${c.join(' ')}\n`);
    return;
  }
  mkdirSync(unitDir, { recursive: true });
  writeFileAtomic(unitPath, text);
  process.stdout.write(`wrote ${unitPath}\n`);
  // Without a running systemd (an image being prepared), systemctl enable works on the files alone.
  if (!systemdRunning) process.env.SYSTEMD_OFFLINE = '1';
  for (const c of commands) {
    const r = runTool('systemctl', c);
    if (r.status !== 0) throw new Error(`systemctl ${c.join(' ')} failed: ${r.stderr.trim()}`);
    process.stdout.write(`ran systemctl ${c.join(' ')}\n`);
  }
  if (!standardDir) process.stdout.write(`${unitDir} is not ${DEFAULT_UNIT_DIR}: enable it yourself where systemd will see it\n`);
  else if (!options.enable) process.stdout.write(`not enabled: systemctl enable ${UNIT_NAME}\n`);
  process.stdout.write(`next: put the policy in ${policy}, then systemctl start secmarkc (or reboot)\n`);
}
