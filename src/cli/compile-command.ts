// `secmarkc compile POLICY [--format nft|json|cil] [-o FILE]`

import type { Command } from 'commander';
import { Option } from 'commander';
import { emitCil } from '../emit/cil.js';
import { emitNftJson } from '../emit/nft-json.js';
import { emitNftText } from '../emit/nft-text.js';
import { writeOutput } from './io.js';
import { addPortsFromOption, loadPolicy, type PortsFromOption } from './load-policy.js';

export const COMPILE_FORMATS = ['nft', 'json', 'cil', 'all'] as const;
type Format = (typeof COMPILE_FORMATS)[number];

export function registerCompile(program: Command): void {
  const command = program
    .command('compile')
    .summary('print the nft ruleset and CIL module a policy compiles to')
    .description(
      'Compile POLICY ("-" for stdin) and print what `apply` would load, without loading it. ' +
        '`all` (the default) prints the nft script, then the CIL module; `nft`, `json` (libnftables JSON, ' +
        'as `nft -j` prints it) and `cil` print one.',
    )
    .argument('<policy>', 'policy file, or - for stdin')
    .addOption(new Option('-f, --format <format>', 'what to print').choices(COMPILE_FORMATS).default('all'))
    .option('-o, --output <file>', 'write to FILE (atomically: written whole or not at all) instead of stdout')
    .option('--selinux-policy <file>', 'for apps with `programs`: read their parents\' rights from this binary SELinux policy instead of the loaded one');
  addPortsFromOption(command)
    .action((policyPath: string, options: { format: Format; output?: string } & PortsFromOption) => {
      const result = loadPolicy(policyPath, options);
      if (!result) return;
      const { ruleset, module } = result.compiled;
      const text =
        options.format === 'nft'
          ? emitNftText(ruleset)
          : options.format === 'json'
            ? emitNftJson(ruleset)
            : options.format === 'cil'
              ? emitCil(module)
              : `${emitNftText(ruleset)}\n${commentBanner(`CIL module ${module.name}`)}\n${emitCil(module)}`;
      writeOutput(options.output, text);
    });
}

function commentBanner(title: string): string {
  return `; ${'-'.repeat(20)} ${title} ${'-'.repeat(20)}`;
}
