// `secmarkc check POLICY`: validate, then audit who else may use the packet types (against the
// loaded SELinux policy, or one given with --selinux-policy), without loading anything.

import type { Command } from 'commander';
import type { ExclusivityAudit } from '../audit/exclusive.js';
import { DEFAULT_STATE_DIR } from '../records/state-dir.js';
import { EXIT } from './exit-codes.js';
import { addAuditOptions, auditReport, auditTarget, runAudit, type AuditOptions } from './exclusivity.js';
import { addPortsFromOption, loadPolicy, type PortsFromOption } from './load-policy.js';
import { stdinConflict } from './io.js';
import { describeError, failRuntime, failUsage, printDiagnostics } from './report.js';

interface CheckOptions extends PortsFromOption, AuditOptions {
  json?: boolean;
}

export function registerCheck(program: Command): void {
  const command = program
    .command('check')
    .summary('validate a policy and report every problem')
    .description('Parse and compile POLICY ("-" for stdin) without loading anything. Prints ' +
        '"FILE:LINE:COL: error SMCnnn: ..." for every problem.\n\n' +
        'Then the exclusivity audit: for every packet type of the policy, every domain the SELinux policy ' +
        'lets send or recv it (attributes expanded, boolean conditionals with their current state), and ' +
        'an SMC060 error for each rule that lets in a domain outside the app. It reads the loaded policy, ' +
        'or FILE with --selinux-policy (setools\' Python library: Debian package setools); a type the ' +
        'policy does not have yet (module not installed) is reported as not audited.\n\n' +
        'Exit codes: 0 valid (and exclusive where audited), 2 invalid or not exclusive, 1 the audit could not run.')
    .argument('<policy>', 'policy file, or - for stdin')
    .option('--json', 'print the result (counts and the audit) as JSON on stdout');
  addAuditOptions(addPortsFromOption(command))
    .action((policyPath: string, options: CheckOptions) => {
      const conflict = stdinConflict({ POLICY: policyPath, '--ports-from': options.portsFrom });
      if (conflict) return failUsage(conflict);
      const result = loadPolicy(policyPath, options);
      if (!result) return;
      const { ruleset, module } = result.compiled;
      const elements = ruleset.maps.reduce((n, m) => n + m.elements.length, 0);
      const target = auditTarget(options);
      let audit: ExclusivityAudit | undefined;
      if (target !== undefined) {
        try {
          // apply's cache of setools' answer, read only: valid while the loaded policy is the same.
          audit = runAudit(result.policy, module, target, { dir: DEFAULT_STATE_DIR, write: false });
        } catch (error) {
          failRuntime(`exclusivity audit: ${describeError(error)}`);
          return;
        }
      }
      const summary = { file: result.policy.file, apps: result.policy.apps.length, packetTypes: module.types.length, elements };
      if (options.json) {
        process.stdout.write(JSON.stringify({ ...summary, ok: !audit?.diagnostics.some((d) => d.severity === 'error'), audit: audit ? { ...audit, enforcing: audit.enforcing ?? null } : null }, null, 2) + '\n');
      } else {
        process.stdout.write(`${summary.file}: ok — ${summary.apps} apps, ${summary.packetTypes} packet types, ${elements} map elements\n`);
        if (audit) process.stdout.write(auditReport(result.policy, audit));
        else if (options.audit !== false) process.stdout.write('exclusivity: not audited (no loaded SELinux policy here; --selinux-policy FILE audits a policy file)\n');
      }
      if (audit) {
        printDiagnostics(audit.diagnostics);
        if (audit.diagnostics.some((d) => d.severity === 'error')) process.exitCode = EXIT.invalid;
      }
    });
}
