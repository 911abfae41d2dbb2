// `secmarkc compile POLICY [--format nft|json|cil|all] [-o FILE|DIR]`

import type { Command } from 'commander';
import { Option } from 'commander';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { emitCil } from '../emit/cil.js';
import { emitNftJson } from '../emit/nft-json.js';
import { emitNftText } from '../emit/nft-text.js';
import { stdinConflict, writeOutput } from './io.js';
import { addPortsFromOption, loadPolicy, type PortsFromOption } from './load-policy.js';
import { describeError, failRuntime, failUsage } from './report.js';

export const COMPILE_FORMATS = ['nft', 'json', 'cil', 'all'] as const;
type Format = (typeof COMPILE_FORMATS)[number];

export function registerCompile(program: Command): void {
  const command = program
    .command('compile')
    .summary('print the nft ruleset and CIL module a policy compiles to')
    .description(
      'Compile POLICY ("-" for stdin) and print what `apply` would load, without loading it. ' +
        '`nft` (the default) prints the nft script, which `nft -f` loads as it is; `json` the same as libnftables ' +
        'JSON (as `nft -j` prints it); `cil` the CIL module (semodule -i). `all` writes all three into the ' +
        'directory given with -o (created if missing): TABLE.nft, TABLE.json and TABLE.cil, TABLE being the ' +
        'policy\'s table name.',
    )
    .argument('<policy>', 'policy file, or - for stdin')
    .addOption(new Option('-f, --format <format>', 'what to print').choices(COMPILE_FORMATS).default('nft'))
    .option('-o, --output <file>', 'write to FILE (atomically: written whole or not at all; - for stdout) instead of stdout; with --format all, the directory')
    .option('--selinux-policy <file>', 'for apps with `programs`: read their parents\' rights from this binary SELinux policy instead of the loaded one');
  addPortsFromOption(command)
    .action((policyPath: string, options: { format: Format; output?: string } & PortsFromOption) => {
      const conflict = stdinConflict({ POLICY: policyPath, '--ports-from': options.portsFrom });
      if (conflict) return failUsage(conflict);
      if (options.format === 'all' && (options.output === undefined || options.output === '-')) {
        return failUsage('--format all writes three files: give the directory with -o DIR (one format goes to stdout: --format nft, json or cil)');
      }
      const result = loadPolicy(policyPath, options);
      if (!result) return;
      const { ruleset, module } = result.compiled;
      const emit: Record<Exclude<Format, 'all'>, () => string> = { nft: () => emitNftText(ruleset), json: () => emitNftJson(ruleset), cil: () => emitCil(module) };
      if (options.format !== 'all') return writeOutput(options.output, emit[options.format]());
      const dir = options.output!;
      try {
        mkdirSync(dir, { recursive: true });
        if (!statSync(dir).isDirectory()) throw new Error('it is not a directory');
      } catch (error) {
        return failRuntime(`cannot write into ${dir}: ${describeError(error)}`);
      }
      for (const [format, extension] of [['nft', 'nft'], ['json', 'json'], ['cil', 'cil']] as const) {
        writeOutput(join(dir, `${ruleset.table}.${extension}`), emit[format]());
        if (process.exitCode) return;
      }
    });
}
