// The secmarkc command line: commander wiring only. Each command lives in its own file and is
// imported when it runs, so `secmarkc --version` does not pay for the compiler or the addon
// (nor, alone, for commander).

import type { Command } from 'commander';
import { createRequire } from 'node:module';
import { EXIT } from './exit-codes.js';
import { describeError, failRuntime } from './report.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

const EPILOG = `
Exit codes: 0 ok, 1 runtime failure (kernel, semodule, I/O, privileges),
            2 invalid policy or usage, 3 drift (status POLICY),
            4 refused (explain --connect/--accept).
Policy reference: README.md ("Policy reference"); JSON Schema: schema/policy.schema.json.`;

interface CommandModule {
  register(program: Command): void;
}

/** Command name → module that registers it (loaded only when that command runs, or for --help). */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  compile: async () => ({ register: (await import('./compile-command.js')).registerCompile }),
  check: async () => ({ register: (await import('./check-command.js')).registerCheck }),
  apply: async () => ({ register: (await import('./apply-command.js')).registerApply }),
  status: async () => ({ register: (await import('./status-command.js')).registerStatus }),
  remove: async () => ({ register: (await import('./remove-command.js')).registerRemove }),
  'install-unit': async () => ({ register: (await import('./install-unit-command.js')).registerInstallUnit }),
  learn: async () => ({ register: (await import('./learn-command.js')).registerLearn }),
  ports: async () => ({ register: (await import('./ports-command.js')).registerPorts }),
  explain: async () => ({ register: (await import('./explain-command.js')).registerExplain }),
};

export async function main(argv: readonly string[]): Promise<void> {
  const args = argv.slice(2);
  // `secmarkc --version` answers before commander (and the bundle chunk holding it) is loaded.
  if (args.length === 1 && (args[0] === '-V' || args[0] === '--version')) {
    process.stdout.write(`${version}\n`);
    return;
  }
  const { Command, CommanderError } = await import('commander');
  const program = new Command('secmarkc')
    .description('Per-application network filtering with nftables secmark and SELinux.')
    .version(version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EPILOG)
    .exitOverride();

  // Load only the command that runs; all of them for help (to list them); none for --version.
  const wanted = args.find((a) => !a.startsWith('-'));
  const versionOnly = wanted === undefined && args.some((a) => a === '-V' || a === '--version');
  const load = versionOnly ? [] : wanted !== undefined && wanted in COMMANDS ? [COMMANDS[wanted]!] : Object.values(COMMANDS);
  for (const loader of load) (await loader()).register(program);

  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors were already printed by commander.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.invalid;
      return;
    }
    failRuntime(describeError(error));
  }
}
