// `secmarkc remove`: delete our table in one batch (then, with --module, the CIL module —
// the reverse of apply's order, so no rule ever names a type that is gone).

import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { deleteTable } from '../apply/apply.js';
import { journalPath, restoreProgramLabels } from '../programs/sync-labels.js';
import { DEFAULT_STATE_DIR, removeModule } from '../selinux/semodule.js';
import { addKernelOptions, withNetns } from './kernel-options.js';
import { describeError, failRuntime } from './report.js';
import { DEFAULT_WAIT_SECONDS, waitSeconds, WriterSession, type StateOptions } from './state-session.js';

interface RemoveOptions extends StateOptions {
  table: string;
  module?: boolean;
}

export function registerRemove(program: Command): void {
  const command = program
    .command('remove')
    .summary('delete our table atomically (and the CIL module with --module)')
    .description(
      'Delete table inet <table> in one batch; nothing else on the host is touched. With --module, then remove the CIL module, ' +
        'and give the files of apps with `programs` back the labels they had before secmarkc labelled them.',
    )
    .option('-t, --table <name>', 'the table (and module) name', 'secmarkc')
    .option('--module', 'also remove the CIL module (semodule -r)')
    .option('--state-dir <dir>', 'where the records and the last installed module text are kept (the records then say: no table)', DEFAULT_STATE_DIR)
    .option('--wait <seconds>', 'how long to wait for another secmarkc writing the same table (0: fail at once)', String(DEFAULT_WAIT_SECONDS));
  addKernelOptions(command).action(async (options: RemoveOptions) => {
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(options.table)) {
      process.stderr.write(`secmarkc: invalid table name "${options.table}"\n`);
      process.exitCode = 2;
      return;
    }
    if (waitSeconds(options) === undefined) {
      process.stderr.write(`secmarkc: --wait takes a number of seconds >= 0, not "${options.wait}"\n`);
      process.exitCode = 2;
      return;
    }
    // Records are kept consistent where there are any: a state directory that does not exist has none.
    let session: WriterSession | undefined;
    try {
      if (existsSync(options.stateDir)) {
        session = await WriterSession.open(options, options.table, 'remove');
        session.begin('remove', { kind: 'none' });
      }
    } catch (error) {
      session?.close();
      failRuntime(`${describeError(error)}. Nothing was sent to the kernel.`);
      return;
    }
    try {
      const removed = await withNetns(options, (netnsFd) => deleteTable(options.table, netnsFd === undefined ? {} : { netnsFd }));
      if (session) {
        session.commit();
        session.history('remove', { generation: removed.generation });
      }
      process.stderr.write(removed.existed ? `removed table inet ${options.table}\n` : `table inet ${options.table} does not exist: nothing to remove\n`);
      if (options.module) {
        const removed = removeModule(options.table, options.stateDir);
        process.stderr.write(removed ? `removed CIL module ${options.table}\n` : `CIL module ${options.table} was not installed\n`);
        // The file contexts went with the module: program files get back what they had before.
        if (existsSync(journalPath(options.stateDir, options.table))) {
          for (const change of restoreProgramLabels(options.stateDir, options.table)) {
            process.stderr.write(`restored ${change.path}: ${change.from ?? '(no label)'} -> ${change.to ?? '(no label)'}\n`);
          }
        }
      }
    } catch (error) {
      session?.failed(error);
      failRuntime(describeError(error));
    } finally {
      session?.close();
    }
  });
}
