// `secmarkc apply POLICY`: install the CIL module if it changed, then replace our table in one
// atomic batch. The module goes first: the secmark contexts name its types.

import type { Command } from 'commander';
import { ApplyError, DEFAULT_RETRIES, replaceTable } from '../apply/apply.js';
import { encodeRuleset } from '../netlink/encode-ruleset.js';
import { DEFAULT_STATE_DIR, installModule } from '../selinux/semodule.js';
import { addKernelOptions, rulesetFor, withNetns, type KernelOptions } from './kernel-options.js';
import { addPortsFromOption, loadPolicy, type PortsFromOption } from './load-policy.js';
import { describeError, failRuntime } from './report.js';

interface ApplyOptions extends KernelOptions, PortsFromOption {
  module: boolean;
  dryRun?: boolean;
  retries: string;
  stateDir: string;
}

export function registerApply(program: Command): void {
  const command = program
    .command('apply')
    .summary('install the CIL module (if changed) and replace the ruleset atomically')
    .description(
      'Compile POLICY, install its CIL module with semodule (only when its text changed), then replace ' +
        'table inet <table> in one nf_tables batch: all or nothing, checked against the ruleset ' +
        'generation and retried if another program changed the ruleset meanwhile. A refused batch ' +
        'leaves the previous ruleset exactly as it was. Needs root (CAP_NET_ADMIN, and semodule).',
    )
    .argument('<policy>', 'policy file, or - for stdin')
    .option('--no-module', 'do not install the CIL module (it is already loaded, or managed elsewhere)')
    .option('--dry-run', 'print the messages that would be sent, and send nothing')
    .option('--retries <n>', 'retries when the ruleset changes under us', String(DEFAULT_RETRIES))
    .option('--state-dir <dir>', 'where the last installed module text is kept', DEFAULT_STATE_DIR);
  addPortsFromOption(addKernelOptions(command)).action(async (policyPath: string, options: ApplyOptions) => {
    const result = loadPolicy(policyPath, options);
    if (!result) return;
    const ruleset = rulesetFor(result.compiled.ruleset, options);
    const module = result.compiled.module;

    if (options.dryRun) {
      const encoded = encodeRuleset(ruleset, { mode: 'replace' });
      if (options.module && options.lsm) process.stdout.write(`would install CIL module ${module.name} if changed (semodule -i)\n`);
      process.stdout.write(`would send one batch of ${encoded.messages.length} messages, ${encoded.bytes.length} bytes:\n`);
      for (const m of encoded.messages) process.stdout.write(`  ${m.seq}\t${m.type}\t${m.what}\n`);
      return;
    }

    try {
      if (options.module && options.lsm) {
        const installed = installModule(module, options.stateDir);
        process.stderr.write(installed ? `installed CIL module ${module.name}\n` : `CIL module ${module.name} unchanged\n`);
      }
      const retries = Number(options.retries);
      const applied = await withNetns(options, (netnsFd) =>
        replaceTable(ruleset, { retries: Number.isInteger(retries) && retries >= 0 ? retries : DEFAULT_RETRIES, ...(netnsFd === undefined ? {} : { netnsFd }) }),
      );
      process.stderr.write(
        `applied table inet ${ruleset.table}: ${applied.messages} messages, ${applied.bytes} bytes, generation ${applied.generation}` +
          `${applied.attempts > 1 ? `, after ${applied.attempts} attempts` : ''}\n`,
      );
    } catch (error) {
      failRuntime(error instanceof ApplyError ? error.message : describeError(error));
    }
  });
}
