// The secmarkc command line: commander wiring only. Each command lives in its own file and is
// imported when it runs (in the bundle too: esbuild keeps each `import()` lazy), so `secmarkc
// --help` does not pay for the compiler or the addon. (`--version` alone is answered by
// bin/secmarkc.js before any of this loads.)

import type { Command } from 'commander';
import { createRequire } from 'node:module';
import { EXIT } from './exit-codes.js';
import { failError } from './report.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

const EPILOG = `
Exit codes: 0 ok, 1 runtime failure (kernel, semodule, I/O, privileges),
            2 invalid policy or usage, 3 drift (status POLICY; status alone: the
            live table is not what the records say),
            4 refused (explain --connect/--accept).
Policy reference: README.md ("Policy reference"); JSON Schema: schema/policy.schema.json.`;

interface CommandModule {
  register(program: Command): void;
}

interface CommandEntry {
  /** What the top-level help lists: `name term` and the summary (test/cli-help.test.ts keeps these equal to the modules'). */
  readonly term: string;
  readonly summary: string;
  readonly load: () => Promise<CommandModule>;
}

/**
 * Every command: its listing for the top-level help, and the module that registers it, loaded
 * only when that command runs (or its own help is asked for). The top-level help lists these
 * without loading any module.
 */
export const COMMANDS: Record<string, CommandEntry> = {
  compile: {
    term: 'compile [options] <policy>',
    summary: 'print the nft ruleset and CIL module a policy compiles to',
    load: async () => ({ register: (await import('./compile-command.js')).registerCompile }),
  },
  check: {
    term: 'check [options] <policy>',
    summary: 'validate a policy and report every problem',
    load: async () => ({ register: (await import('./check-command.js')).registerCheck }),
  },
  apply: {
    term: 'apply [options] [policy]',
    summary: 'install the CIL module (if changed) and replace the ruleset atomically',
    load: async () => ({ register: (await import('./apply-command.js')).registerApply }),
  },
  status: {
    term: 'status [options] [policy]',
    summary: 'show the live table with counters, which record is live, and drift from POLICY',
    load: async () => ({ register: (await import('./status-command.js')).registerStatus }),
  },
  remove: {
    term: 'remove [options]',
    summary: 'delete our table atomically (and the CIL module with --module)',
    load: async () => ({ register: (await import('./remove-command.js')).registerRemove }),
  },
  'install-unit': {
    term: 'install-unit [options]',
    summary: 'install the systemd unit that applies the policy at boot',
    load: async () => ({ register: (await import('./install-unit-command.js')).registerInstallUnit }),
  },
  learn: {
    term: 'learn [options]',
    summary: 'suggest policy entries from packet AVC lines (denied and granted)',
    load: async () => ({ register: (await import('./learn-command.js')).registerLearn }),
  },
  ports: {
    term: 'ports [options]',
    summary: 'the port → packet type labels of the loaded SELinux policy (or a policy file)',
    load: async () => ({ register: (await import('./ports-command.js')).registerPorts }),
  },
  explain: {
    term: 'explain [options] [domain]',
    summary: 'which packet types a domain may use, or who may use an app\'s; would a connection pass',
    load: async () => ({ register: (await import('./explain-command.js')).registerExplain }),
  },
  completion: {
    term: 'completion <shell>',
    summary: 'print a bash or zsh completion script',
    load: async () => ({ register: (await import('./completion-command.js')).registerCompletion }),
  },
};

/** The program without commands: shared by main and the test that checks the listing. */
export async function createProgram(): Promise<Command> {
  const { Command } = await import('commander');
  return new Command('secmarkc')
    .description('Per-application network filtering with nftables secmark and SELinux.')
    .version(version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    // Commander's usage errors in our form: `secmarkc: ...`, as every other error (exit 2 in main).
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'secmarkc: ')) })
    .addHelpText('after', EPILOG)
    .exitOverride();
}

/** Listing-only commands for the top-level help and for commander's "unknown command" suggestions. */
function registerListing(program: Command): void {
  for (const [name, entry] of Object.entries(COMMANDS)) program.command(name).summary(entry.summary);
  program.configureHelp({ subcommandTerm: (cmd) => COMMANDS[cmd.name()]?.term ?? `${cmd.name()} [command]` });
}

/**
 * `secmarkc ... | head`: once the reader is gone, output is dropped quietly (no stack trace);
 * the command itself runs to its end, so an apply is never cut off between the kernel and its
 * record.
 */
function ignoreClosedStdout(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
}

export async function main(argv: readonly string[]): Promise<void> {
  // Once per process, however often main() runs (the code-cache build runs it several times).
  if (!process.stdout.listeners('error').includes(ignoreClosedStdout)) process.stdout.on('error', ignoreClosedStdout);
  const args = argv.slice(2);
  const { CommanderError } = await import('commander');
  const program = await createProgram();

  // The command that runs (or whose help is asked for with `help NAME`) is loaded; for anything
  // else (top-level help, an unknown command) the static listing stands in for all of them.
  const first = args.find((a) => !a.startsWith('-'));
  const wanted = first === 'help' ? args[args.indexOf('help') + 1] : first;
  const entry = wanted !== undefined && Object.hasOwn(COMMANDS, wanted) ? COMMANDS[wanted] : undefined;
  if (entry) (await entry.load()).register(program);
  else registerListing(program);

  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors were already printed by commander.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.invalid;
      return;
    }
    failError(error);
  }
}
