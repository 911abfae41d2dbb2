// `secmarkc remove`: delete our table in one batch (then, with --module, the CIL module —
// the reverse of apply's order, so no rule ever names a type that is gone).

import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { deleteTable } from '../apply/apply.js';
import { journalPath, restoreProgramLabels, type LabelChange } from '../programs/sync-labels.js';
import { DEFAULT_STATE_DIR } from '../records/state-dir.js';
import { removeModule } from '../selinux/semodule.js';
import { withNetns } from '../apply/kernel-target.js';
import { DEFAULT_WAIT_SECONDS, WriterSession, type StateOptions } from '../apply/state-session.js';
import { addKernelOptions } from './kernel-options.js';
import { parseSeconds, parseTableName } from './option-parsers.js';
import { describeError, failError, failRuntime } from './report.js';
import { stderrNotes } from './notes.js';

interface RemoveOptions extends StateOptions {
  table: string;
  module?: boolean;
  json?: boolean;
}

/** `remove --json` (README, "JSON output"): what was removed; null where the command did not get that far. */
export interface RemoveReport {
  table: string;
  ok: boolean;
  /** Whether the table existed when the batch deleted it. */
  existed: boolean | null;
  /** The ruleset generation the delete was checked against. */
  generation: number | null;
  /** With --module: whether the module was installed (and is now removed). */
  module: { name: string; removed: boolean } | null;
  /** Program files given back their labels from before (--module). */
  labels: { path: string; from: string | null; to: string | null }[];
}

export function registerRemove(program: Command): void {
  const command = program
    .command('remove')
    .summary('delete our table atomically (and the CIL module with --module)')
    .description(
      'Delete table inet <table> in one batch; nothing else on the host is touched. With --module, then remove the CIL module, ' +
        'and give the files of apps with `programs` back the labels they had before secmarkc labelled them. ' +
        'A table that does not exist is said so, and is no error (exit 0). What was done is printed on stdout ' +
        '(with --json as one JSON object), errors on stderr.',
    )
    .option('-t, --table <name>', 'the table (and module) name', parseTableName, 'secmarkc')
    .option('--module', 'also remove the CIL module (semodule -r)')
    .option('--state-dir <dir>', 'where the records and the last installed module text are kept (the records then say: no table)', DEFAULT_STATE_DIR)
    .option('--wait <seconds>', 'how long to wait for another secmarkc writing the same table (0: fail at once)', parseSeconds, DEFAULT_WAIT_SECONDS)
    .option('--json', 'print what was done as JSON on stdout');
  addKernelOptions(command).action(async (options: RemoveOptions) => {
    const report: RemoveReport = { table: options.table, ok: false, existed: null, generation: null, module: null, labels: [] };
    await remove(options, report, options.json ? () => {} : (line) => void process.stdout.write(`${line}\n`));
    if (options.json) {
      report.ok = !process.exitCode;
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    }
  });
}

async function remove(options: RemoveOptions, report: RemoveReport, say: (line: string) => void): Promise<void> {
  // Records are kept consistent where there are any: a state directory that does not exist has none.
  let session: WriterSession | undefined;
  try {
    if (existsSync(options.stateDir)) {
      session = await WriterSession.open(options, options.table, 'remove', stderrNotes);
      session.begin('remove', { kind: 'none' });
    }
  } catch (error) {
    session?.close();
    failRuntime(`${describeError(error)}. Nothing was sent to the kernel.`);
    return;
  }
  try {
    const removed = await withNetns(options, (netnsFd) => deleteTable(options.table, netnsFd === undefined ? {} : { netnsFd }));
    report.existed = removed.existed;
    report.generation = removed.generation;
    if (session) {
      session.commit();
      session.history('remove', { generation: removed.generation });
    }
    say(removed.existed ? `removed table inet ${options.table}` : `table inet ${options.table} does not exist: nothing to remove`);
    if (options.module) {
      const removedModule = removeModule(options.table, options.stateDir);
      report.module = { name: options.table, removed: removedModule };
      say(removedModule ? `removed CIL module ${options.table}` : `CIL module ${options.table} was not installed`);
      // The file contexts went with the module: program files get back what they had before.
      if (existsSync(journalPath(options.stateDir, options.table))) {
        for (const change of restoreProgramLabels(options.stateDir, options.table)) {
          report.labels.push(labelJson(change));
          say(`restored ${change.path}: ${change.from ?? '(no label)'} -> ${change.to ?? '(no label)'}`);
        }
      }
    }
  } catch (error) {
    session?.failed(error);
    failError(error);
  } finally {
    session?.close();
  }
}

export function labelJson(change: LabelChange): { path: string; from: string | null; to: string | null } {
  return { path: change.path, from: change.from ?? null, to: change.to ?? null };
}
