// `secmarkc remove`: delete our table in one batch (then, with --module, the CIL module —
// the reverse of apply's order, so no rule ever names a type that is gone).

import type { Command } from 'commander';
import { deleteTable } from '../apply/apply.js';
import { DEFAULT_STATE_DIR, removeModule } from '../selinux/semodule.js';
import { addKernelOptions, withNetns, type KernelOptions } from './kernel-options.js';
import { describeError, failRuntime } from './report.js';

interface RemoveOptions extends KernelOptions {
  table: string;
  module?: boolean;
  stateDir: string;
}

export function registerRemove(program: Command): void {
  const command = program
    .command('remove')
    .summary('delete our table atomically (and the CIL module with --module)')
    .description('Delete table inet <table> in one batch; nothing else on the host is touched. With --module, then remove the CIL module.')
    .option('-t, --table <name>', 'the table (and module) name', 'secmarkc')
    .option('--module', 'also remove the CIL module (semodule -r)')
    .option('--state-dir <dir>', 'where the last installed module text is kept', DEFAULT_STATE_DIR);
  addKernelOptions(command).action(async (options: RemoveOptions) => {
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(options.table)) {
      process.stderr.write(`secmarkc: invalid table name "${options.table}"\n`);
      process.exitCode = 2;
      return;
    }
    try {
      const result = await withNetns(options, (netnsFd) => deleteTable(options.table, netnsFd === undefined ? {} : { netnsFd }));
      process.stderr.write(result.existed ? `removed table inet ${options.table}\n` : `table inet ${options.table} does not exist: nothing to remove\n`);
      if (options.module) {
        const removed = removeModule(options.table, options.stateDir);
        process.stderr.write(removed ? `removed CIL module ${options.table}\n` : `CIL module ${options.table} was not installed\n`);
      }
    } catch (error) {
      failRuntime(describeError(error));
    }
  });
}
