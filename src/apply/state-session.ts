// A writer's session with the state directory (apply, rollback, the fallbacks, remove): the
// table's lock from before the records are read until the new one is committed, temporaries of
// killed writers swept, and an interrupted load repaired by asking the kernel what is live (said
// through Notes: the CLI prints). Also what readers use to say which record is live (status,
// error messages).

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ApplyError } from './apply.js';
import { sameTable, type ComparedRuleset } from './drift.js';
import { RowError } from '../records/element-rows.js';
import { describeHolder, lockState, type StateLock } from './lock.js';
import { readTable, type LiveTable } from './read-table.js';
import { checkStateDir } from '../records/state-dir.js';
import { NetfilterSession } from './session.js';
import { AddonLoadError } from '../native.js';
import {
  abandonLoad,
  appendHistory,
  beginLoad,
  commitLoad,
  committedIndex,
  corruptRows,
  openRecords,
  readEntry,
  readEntryRows,
  readStaged,
  stageRecord,
  type AppliedRecord,
  type LoadCommand,
  type Committed,
  type HistoryEvent,
  type Load,
  type NewRecord,
  type RecordEntry,
  type RecordRows,
  type StagedRecord,
  type StateIndex,
} from '../records/state.js';
import { lockdownRuleset } from '../compile/lockdown.js';
import { withCounterObjects } from '../compile/substitute.js';
import { ModuleError } from '../selinux/semodule.js';
import { NotExclusiveError } from '../audit/exclusive.js';
import { removeBootFile } from '../records/boot-file.js';
import { faultPoint } from './fault-point.js';
import { rebuildFromIntent } from './intent.js';
import { NetnsError, withNetns, type KernelOptions } from './kernel-target.js';
import type { Notes } from './notes.js';

export interface StateOptions extends KernelOptions {
  stateDir: string;
  /** Seconds to wait for the lock (--wait, checked by parseSeconds). */
  wait: number;
}

export const DEFAULT_WAIT_SECONDS = 60;

export function describeRecord(r: Pick<AppliedRecord, 'source' | 'appliedAt'>): string {
  return `compiled from ${r.source.path} (sha256 ${r.source.sha256.slice(0, 12)}), applied ${r.appliedAt}`;
}

/** What a record entry loads into the kernel, as it was sent. */
function sent(record: AppliedRecord | RecordRows, lsm: boolean): ComparedRuleset {
  return lsm ? record.ruleset : withCounterObjects(record.ruleset);
}

export async function readLiveTable(options: KernelOptions, table: string): Promise<{ live: LiveTable | undefined; generation: number }> {
  return withNetns(options, async (netnsFd) => {
    const session = NetfilterSession.open(netnsFd);
    try {
      // A dump that another writer changed half way would compare as garbage: read until the
      // generation is the same before and after.
      for (let attempt = 1; ; attempt++) {
        const generation = await session.generation();
        const live = await readTable(session, table);
        if ((await session.generation()) === generation || attempt === 5) return { live, generation };
      }
    } finally {
      session.close();
    }
  });
}

/** The inode of the network namespace a command acts in (--netns, else ours); undefined when it cannot be told. */
export function netnsId(options: KernelOptions): number | undefined {
  try {
    return statSync(options.netns ?? '/proc/self/ns/net').ino;
  } catch {
    return undefined;
  }
}

export type LiveWhat = 'current' | 'previous' | 'pending' | 'lockdown' | 'none' | 'unknown';

export interface LiveMatch {
  readonly what: LiveWhat;
  /** For current, previous, pending: the record (its elements as rows, when it was read for this comparison only). */
  readonly record?: AppliedRecord | RecordRows;
  /** pending: its record file was never written; `record` was compiled again (whole) from the intent's copy of the policy. */
  readonly rebuilt?: true;
  /** Records that could not be read while looking (damaged, untrusted): their errors. */
  readonly unreadable: readonly string[];
}

/**
 * Which of the index's candidates the live table is: what the index says is live first, then
 * the pending load, current, previous, the lockdown ruleset, no table. A pending apply whose
 * record file was never written is compiled again from its intent. `known`: records a writer holds
 * in memory only (repaired on a read-only state directory), by file name.
 */
export function matchLive(
  stateDir: string,
  index: StateIndex,
  live: LiveTable | undefined,
  describe: Notes['describe'],
  known?: ReadonlyMap<string, AppliedRecord>,
): LiveMatch {
  const unreadable: string[] = [];
  // Records are read with their elements as rows: the comparison reads the rows one at a time.
  const read = (entry: RecordEntry | null): RecordRows | undefined => {
    if (!entry) return undefined;
    const held = known?.get(entry.file);
    if (held) return held;
    try {
      return readEntryRows(stateDir, index.table, entry);
    } catch (error) {
      unreadable.push(describe(error));
      return undefined;
    }
  };
  const candidates: { what: LiveWhat; ruleset: () => ComparedRuleset | undefined | null; record?: () => AppliedRecord | RecordRows | undefined; file?: string }[] = [];
  const recordCandidate = (what: LiveWhat, entry: RecordEntry | null, lsm?: boolean) => {
    let record: RecordRows | undefined | null = null;
    const get = () => (record === null ? (record = read(entry)) : record);
    candidates.push({ what, record: get, ruleset: () => (get() ? sent(get()!, lsm ?? entry!.lsm) : null), ...(entry ? { file: entry.file } : {}) });
  };
  const pending = index.pending?.load;
  const claim: LiveWhat = index.live === 'current' ? 'current' : index.live;
  const order: LiveWhat[] = [claim, 'pending', 'current', 'previous', 'lockdown', 'none'];
  for (const what of [...new Set(order)]) {
    if (what === 'current') recordCandidate('current', index.current);
    else if (what === 'previous') recordCandidate('previous', index.previous);
    else if (what === 'lockdown') candidates.push({ what, ruleset: () => lockdownRuleset(index.table) });
    else if (what === 'none') candidates.push({ what, ruleset: () => undefined });
    else if (what === 'pending' && pending) {
      if (pending.kind === 'record') {
        const entry = [index.current, index.previous].find((e) => e?.file === pending.file);
        if (entry) recordCandidate('pending', entry, pending.lsm);
        else {
          let staged: AppliedRecord | undefined | null = null;
          const get = () => (staged === null ? (staged = readStaged(stateDir, index.table, pending.file)?.record ?? rebuild()) : staged);
          candidates.push({ what, record: get, ruleset: () => (get() ? sent(get()!, pending.lsm) : null) });
        }
      } else candidates.push({ what, ruleset: () => (pending.kind === 'lockdown' ? lockdownRuleset(index.table) : undefined) });
    }
  }
  let rebuilt = false;
  const rebuild = (): AppliedRecord | undefined => {
    try {
      const result = rebuildFromIntent(stateDir, index.table, index.pending!);
      if ('record' in result) {
        rebuilt = true;
        return result.record;
      }
      unreadable.push(`the interrupted apply's record was never written, and it cannot be compiled again: ${result.why}`);
    } catch (error) {
      unreadable.push(describe(error));
    }
    return undefined;
  };
  for (const c of candidates) {
    const ruleset = c.ruleset();
    if (ruleset === null) continue;
    let same: boolean;
    try {
      same = sameTable(ruleset, live);
    } catch (error) {
      // A record's row found malformed as it was read: unreadable, as readEntry would have said.
      if (!(error instanceof RowError) || c.file === undefined) throw error;
      unreadable.push(describe(corruptRows(join(stateDir, c.file), error)));
      continue;
    }
    if (same) {
      const record = c.record?.();
      return { what: c.what, ...(record ? { record } : {}), ...(c.what === 'pending' && rebuilt ? { rebuilt: true as const } : {}), unreadable };
    }
  }
  return { what: 'unknown', unreadable };
}

/** The record of a `rebuilt` match: compiled again from the intent, so whole (never rows). */
function rebuiltRecord(match: LiveMatch): AppliedRecord {
  if (!match.rebuilt || !match.record) throw new Error('internal error: no record was compiled again');
  return match.record as AppliedRecord;
}

/** "the current record (compiled from ...)", "the LOCKDOWN ruleset", "no table" ... */
export function describeLive(m: LiveMatch, table: string): string {
  switch (m.what) {
    case 'current':
    case 'previous':
      return `the ${m.what} record (${describeRecord(m.record!)})`;
    case 'pending':
      return `the policy the interrupted writer was loading${m.record ? ` (${describeRecord(m.record)}${m.rebuilt ? '; its record was never written: compiled again from the copy its intent kept' : ''})` : ''}`;
    case 'lockdown':
      return 'the LOCKDOWN ruleset';
    case 'none':
      return `no table (inet ${table} is not loaded)`;
    default:
      return `a table inet ${table} that matches no record`;
  }
}

/** What the index says is live, in words. */
export function describeClaim(stateDir: string, index: StateIndex): string {
  if (index.live === 'lockdown') return 'the LOCKDOWN ruleset';
  if (index.live === 'none' || !index.current) return `no table (inet ${index.table} is not loaded)`;
  try {
    return `the current record (${describeRecord(readEntryRows(stateDir, index.table, index.current))})`;
  } catch {
    return `the current record (${describeRecord(index.current)})`;
  }
}

export class WriterSession {
  private staged: StagedRecord | undefined;
  /** Records repaired but not written (a read-only state directory), by file name: the index in memory names them. */
  private readonly unwritten = new Map<string, AppliedRecord>();

  private constructor(
    readonly options: StateOptions,
    readonly table: string,
    readonly notes: Notes,
    private readonly lock: StateLock,
    public index: StateIndex,
  ) {}

  /**
   * Take the table's lock (waiting up to --wait seconds), sweep, read the index, and repair it if
   * a writer was killed during a load. Throws StateError (LockError) when the directory cannot be
   * trusted or the lock stays taken: nothing has been sent then.
   */
  static async open(options: StateOptions, table: string, command: LoadCommand, notes: Notes): Promise<WriterSession> {
    const { wait } = options;
    const { note } = notes;
    checkStateDir(options.stateDir, true);
    const lock = lockState(options.stateDir, table, command, wait, (holder) =>
      note(`waiting up to ${wait} s for ${describeHolder(holder)}, which is writing table ${table} (--wait)`),
    );
    try {
      faultPoint('locked');
      const { index, swept } = openRecords(options.stateDir, table);
      if (swept.length > 0) note(`removed ${swept.length} temporary file${swept.length === 1 ? '' : 's'} an interrupted secmarkc left in ${options.stateDir}`);
      const session = new WriterSession(options, table, notes, lock, index);
      if (index.pending) await session.repair();
      return session;
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  close(): void {
    this.lock.release();
  }

  async live(): Promise<LiveMatch> {
    const { live } = await readLiveTable(this.options, this.table);
    return matchLive(this.options.stateDir, this.index, live, this.notes.describe, this.unwritten);
  }

  /** The record an entry of this session's index names (readEntry, or one repaired in memory only). */
  readEntry(entry: RecordEntry): AppliedRecord {
    return this.unwritten.get(entry.file) ?? readEntry(this.options.stateDir, this.table, entry);
  }

  /**
   * A writer was killed during a load: record what the kernel shows it did (or did not do). On a
   * read-only state directory the repaired index is kept in memory (the fallbacks use it) and the
   * next writer that can write records it.
   */
  private async repair(): Promise<void> {
    const { note, describe } = this.notes;
    const pending = this.index.pending!;
    const who = `an interrupted secmarkc ${pending.command} (PID ${pending.pid}, since ${pending.since})`;
    const netns = netnsId(this.options);
    if (this.index.netns !== undefined && netns !== undefined && this.index.netns !== netns) {
      // Its kernel is another namespace's: what it did cannot be seen from here.
      note(`${who} was loading into another network namespace (net:[${this.index.netns}]): its load is forgotten, not judged`);
      this.index = { ...this.index, pending: null };
      return;
    }
    const match = await this.live();
    const { stateDir } = this.options;
    const loaded = match.what === 'pending';
    const newRecord = loaded && pending.load.kind === 'record' && pending.command === 'apply';
    let staged = newRecord && !match.rebuilt ? readStaged(stateDir, this.table, pending.load.file) : undefined;
    let recorded = true;
    try {
      // Killed before its record file was written: the record compiled again from its intent is written now.
      if (newRecord && match.rebuilt) staged = stageRecord(stateDir, this.index, rebuiltRecord(match));
      this.index = loaded ? commitLoad(stateDir, this.index, staged).index : abandonLoad(stateDir, this.index);
    } catch (error) {
      recorded = false;
      if (newRecord && match.rebuilt && !staged && pending.load.kind === 'record') {
        staged = { file: pending.load.file, sha256: '', record: rebuiltRecord(match) };
        this.unwritten.set(staged.file, staged.record);
      }
      this.index = loaded ? committedIndex(stateDir, this.index, staged).index : { ...this.index, pending: null };
      note(`cannot record what ${who} left: ${describe(error)}`);
    }
    if (loaded) {
      const what = match.record ? `the policy ${describeRecord(match.record)}` : pending.load.kind === 'lockdown' ? 'the LOCKDOWN ruleset' : 'no table';
      const rebuilt = match.rebuilt ? ' (it was killed before it wrote its record: compiled again from the copy its intent kept)' : '';
      note(`${who} had loaded ${what} but not recorded it${rebuilt}${recorded ? ': recorded now' : ''}`);
    } else if (match.what === 'unknown') {
      note(`${who} left ${describeLive(match, this.table)}${match.unreadable.length > 0 ? ` (${match.unreadable.join('; ')})` : ''}`);
    } else {
      note(`${who} did not change the kernel: the live table is ${describeLive(match, this.table)}`);
    }
    if (recorded) {
      this.history('repair', { interrupted: pending.command, pid: pending.pid, live: match.what, digest: match.record?.digest ?? null, ...(match.rebuilt ? { rebuilt: 'intent' } : {}) });
    }
  }

  /** Before the batch: the index says what is being loaded (fails here, before anything is sent, when the directory is not writable). */
  begin(command: LoadCommand, load: Load | NewRecord): void {
    // The boot file describes the index as it is now: from here on it would not (apply writes a new one).
    removeBootFile(this.options.stateDir, this.table);
    const netns = netnsId(this.options);
    this.index = beginLoad(this.options.stateDir, netns === undefined ? this.index : { ...this.index, netns }, command, load);
    faultPoint('intent');
  }

  /** The pending record's file (apply runs it while the kernel processes the batch). */
  stage(record: AppliedRecord): StagedRecord {
    this.staged = stageRecord(this.options.stateDir, this.index, record);
    faultPoint('staged');
    return this.staged;
  }

  /** The kernel applied the pending load: the index says so. */
  commit(): Committed {
    faultPoint('batch');
    const committed = commitLoad(this.options.stateDir, this.index, this.staged);
    this.index = committed.index;
    this.staged = undefined;
    faultPoint('committed');
    if (committed.damaged) this.notes.note(`the current record was damaged: replaced, not rotated into previous; kept as ${committed.damaged}`);
    return committed;
  }

  /** The kernel refused the pending load: forget it (best effort: the next writer repairs it otherwise). */
  abandon(): void {
    if (!this.index.pending) return;
    try {
      this.index = abandonLoad(this.options.stateDir, this.index);
    } catch (error) {
      this.notes.note(`could not clear the pending load from the index (the next apply will): ${this.notes.describe(error)}`);
    }
    this.staged = undefined;
  }

  /** One history line; a failure is said, not thrown (the records themselves are committed). */
  history(event: HistoryEvent, detail: Record<string, unknown>): void {
    try {
      appendHistory(this.options.stateDir, this.table, event, detail);
    } catch (error) {
      this.notes.note(`could not append to ${this.options.stateDir}/${this.table}.history: ${this.notes.describe(error)}`);
    }
  }

  /**
   * The load failed: forget its intent if nothing can have reached the kernel (refused, or failed
   * before the batch); otherwise leave it for the next writer to judge by what is live.
   */
  failed(error: unknown): void {
    // Refused before or by the kernel: nothing of this load is live.
    if (error instanceof ApplyError || error instanceof ModuleError || error instanceof NotExclusiveError || error instanceof NetnsError || error instanceof AddonLoadError) {
      this.abandon();
    }
    else this.notes.note('the outcome of the batch is unknown: the next writer records what is live (secmarkc status shows it)');
  }
}
