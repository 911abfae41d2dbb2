// Program files carry the exec type of their app while a policy lists them, and their own label
// again once none does. What each file had before we labelled it is kept in TABLE.labels.json in
// the state directory, written (durably) before the file is changed, so a kill at any point leaves
// a journal that can put every file back.

import { join } from 'node:path';
import type { ProgramApp } from '../compile/ir.js';
import { readTrusted, writeFileDurably } from '../records/state-dir.js';
import { contextType, ProgramLabelError, readFileLabel, restoreconFile, setFileLabel } from './labels.js';

interface Journal {
  readonly format: 1;
  /** Per labelled file: its context before we labelled it (null: it had none, or it was ours already). */
  readonly files: Record<string, { readonly original: string | null }>;
}

export interface LabelChange {
  readonly path: string;
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly action: 'labelled' | 'restored';
}

export function journalPath(stateDir: string, table: string): string {
  return join(stateDir, `${table}.labels.json`);
}

export function readJournal(stateDir: string, table: string): Journal {
  const bytes = readTrusted(journalPath(stateDir, table));
  if (!bytes) return { format: 1, files: {} };
  try {
    const value = JSON.parse(bytes.toString('utf8')) as Journal;
    if (value.format !== 1 || typeof value.files !== 'object' || value.files === null) throw new Error('unknown format');
    return value;
  } catch (error) {
    throw new ProgramLabelError(`${journalPath(stateDir, table)} is damaged (${(error as Error).message}): it says what program files looked like before secmarkc labelled them`);
  }
}

function writeJournal(stateDir: string, table: string, journal: Journal): void {
  writeFileDurably(journalPath(stateDir, table), [Buffer.from(`${JSON.stringify(journal, null, 1)}\n`)], stateDir);
}

/**
 * Make the files of `programs` carry their app's exec type, and put back the label of every file
 * we labelled before that is no longer listed. Needs the module that holds the file contexts
 * installed. Returns what changed.
 */
export function syncProgramLabels(programs: readonly ProgramApp[], stateDir: string, table: string): LabelChange[] {
  const journal = readJournal(stateDir, table);
  const files = { ...journal.files };
  const wanted = new Map<string, string>();
  for (const app of programs) for (const file of app.files) wanted.set(file.path, app.execType);
  const ours = new Set(programs.map((app) => app.execType));
  const changes: LabelChange[] = [];

  const firstTime = [...wanted.keys()].filter((path) => !(path in files));
  if (firstTime.length > 0) {
    for (const path of firstTime) {
      const label = readFileLabel(path);
      // A label of ours already (a journal lost with the state directory): its own is unknown.
      files[path] = { original: label === undefined || ours.has(contextType(label) ?? '') ? null : label };
    }
    writeJournal(stateDir, table, { format: 1, files });
  }
  for (const [path, execType] of wanted) {
    const before = readFileLabel(path);
    if (contextType(before) === execType) continue;
    restoreconFile(path);
    const after = readFileLabel(path);
    if (contextType(after) !== execType) {
      throw new ProgramLabelError(`${path} is labelled ${after ?? '(nothing)'} after restorecon, not ${execType}: is the module installed, and does another file context override ours (semanage fcontext -l)?`);
    }
    changes.push({ path, from: before, to: after, action: 'labelled' });
  }
  const gone = Object.keys(files).filter((path) => !wanted.has(path));
  if (gone.length > 0) {
    for (const path of gone) {
      const change = putBack(path, files[path]!.original);
      if (change) changes.push(change);
      delete files[path];
    }
    writeJournal(stateDir, table, { format: 1, files });
  }
  return changes;
}

/** Put back every file we labelled (remove --module, after the module is gone). */
export function restoreProgramLabels(stateDir: string, table: string): LabelChange[] {
  return syncProgramLabels([], stateDir, table);
}

function putBack(path: string, original: string | null): LabelChange | undefined {
  let before: string | undefined;
  try {
    before = readFileLabel(path);
  } catch {
    return undefined; // removed or renamed meanwhile: nothing to put back
  }
  if (original === null) restoreconFile(path);
  else if (before !== original) setFileLabel(path, original);
  const after = readFileLabel(path);
  return after === before ? undefined : { path, from: before, to: after, action: 'restored' };
}
