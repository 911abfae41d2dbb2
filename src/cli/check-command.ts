// `secmarkc check POLICY`: validate only.

import type { Command } from 'commander';
import { addPortsFromOption, loadPolicy, type PortsFromOption } from './load-policy.js';

export function registerCheck(program: Command): void {
  const command = program
    .command('check')
    .summary('validate a policy and report every problem')
    .description('Parse and compile POLICY ("-" for stdin) without loading anything. Prints ' +
        '"FILE:LINE:COL: error SMCnnn: ..." for every problem; exits 0 if valid, 2 if not.')
    .argument('<policy>', 'policy file, or - for stdin');
  addPortsFromOption(command)
    .action((policyPath: string, options: PortsFromOption) => {
      const result = loadPolicy(policyPath, options);
      if (!result) return;
      const { ruleset, module } = result.compiled;
      const elements = ruleset.maps.reduce((n, m) => n + m.elements.length, 0);
      process.stdout.write(
        `${result.policy.file}: ok — ${result.policy.apps.length} apps, ${module.types.length} packet types, ${elements} map elements\n`,
      );
    });
}
