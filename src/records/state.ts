// The applied-policy records in the state directory: the last successfully applied policy in
// compiled form (IR ruleset + CIL module; map elements as rows, see element-rows.ts), and the one
// applied before it. Enough to load either again without the policy file or the compiler's
// inputs: `apply --rollback` and the `keep` fallback of `apply --on-invalid` read them. Which file
// is which is said by one index, replaced atomically (see "files" below).

import { createHash } from 'node:crypto';
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CilModule, CompiledPolicy, ObjectMap, Ruleset } from '../compile/ir.js';
import { emitCil } from '../emit/cil.js';
import { checkRows, EscapedRows, KeyRows, mapToRowBytes, RowError, rowsToElements, type MapRowBytes, type MapRows } from './element-rows.js';
import { stringifySpliced } from './json-splice.js';
import { appendTrusted, checkStateDir, readTrusted, sha256, StateError, sweepTemporaries, writeFileDurably, writeFileOnce, writeTemp } from './state-dir.js';

export { StateError } from './state-dir.js';

/** 2: map elements as rows. 1 (JSON elements, before exact maps) is still read. */
export const STATE_FORMAT = 2;

/** One applied policy, as kept on disk. */
export interface AppliedRecord {
  readonly format: typeof STATE_FORMAT;
  readonly table: string;
  /** When it was (last) loaded, ISO 8601 (`apply` takes it just before it sends the batch). */
  readonly appliedAt: string;
  /** How it came to be loaded: a policy file, or a rollback to this record. */
  readonly via: 'apply' | 'rollback';
  /** The policy file it was compiled from and the sha256 of that text (for people: the file may be gone). */
  readonly source: { readonly path: string; readonly sha256: string };
  /** sha256 of the compiled content (ruleset and module, without source positions): its identity. */
  readonly digest: string;
  readonly ruleset: Ruleset;
  readonly module: CilModule;
  /** The module as CIL text, for review or `semodule -i` by hand. */
  readonly cil: string;
}

/** A map as a record holds it: its elements as rows (all of ours), or as objects (format 1, or spans in another file). */
export type RecordMap = ObjectMap | (Omit<ObjectMap, 'elements'> & { readonly rows: MapRows });

/**
 * A record with its maps' elements left as rows: all that comparing it with the kernel needs
 * (drift.ts reads the rows one at a time), without an object per element. Checked as readEntry
 * checks, except the rows themselves: a malformed row is found when it is read (RowError).
 */
export interface RecordRows extends Omit<AppliedRecord, 'ruleset'> {
  readonly ruleset: Omit<Ruleset, 'maps'> & { readonly maps: readonly RecordMap[] };
}

// ---------------------------------------------------------------- (de)serialisation

/** Uint8Array (address bytes in the IR) as `{"$hex": "..."}`; spans and everything else as they are. */
function replacer(this: unknown, _key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { $hex: Buffer.from(value).toString('hex') } : value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const hex = (value as { $hex?: unknown }).$hex;
    if (typeof hex === 'string' && Object.keys(value).length === 1) return Uint8Array.from(Buffer.from(hex, 'hex'));
  }
  return value;
}

/**
 * A map as stored: elements as rows where they fit (all of ours do), else as JSON objects. Rows
 * are bytes when written (spliced into the file as they are) and strings when read back.
 */
type StoredMap<Rows extends MapRows | MapRowBytes> = Omit<ObjectMap, 'elements'> & ({ readonly elements: ObjectMap['elements'] } | { readonly rows: Rows });

/** Rows per map, made once per map object (the digest and the file both need them). */
const rowsCache = new WeakMap<ObjectMap, MapRowBytes | undefined>();

function storedMap(map: ObjectMap): StoredMap<MapRowBytes> {
  if (!rowsCache.has(map)) rowsCache.set(map, mapToRowBytes(map));
  const rows = rowsCache.get(map);
  if (!rows) return map;
  const stored: Record<string, unknown> = { ...map, rows };
  delete stored['elements'];
  return stored as unknown as StoredMap<MapRowBytes>;
}

function storedRuleset(ruleset: Ruleset): Omit<Ruleset, 'maps'> & { maps: StoredMap<MapRowBytes>[] } {
  return { ...ruleset, maps: ruleset.maps.map(storedMap) };
}

/** Content identity: what would be loaded, without where it was written down (spans, an element's peer, source path). */
export function compiledDigest(compiled: CompiledPolicy): string {
  return storedDigest(storedRuleset(compiled.ruleset), compiled.module);
}

/**
 * The digest of a ruleset in stored form: computed alike when writing (rows as bytes) and, before
 * decoding, when reading (rows as strings). Element rows (megabytes at 100,000 elements) are hashed
 * as text, after the JSON of the rest, which names each by its position: one pass over them
 * instead of a JSON escape and a hash.
 */
function storedDigest(ruleset: unknown, module: unknown): string {
  // Rows are ASCII: as a string or as bytes, the same length and the same bytes hashed.
  const rows: (string | Buffer)[] = [];
  const strip = (key: string, value: unknown): unknown => {
    if (key === 'span' || key === 'spans' || key === 'source' || key === 'peer') return undefined;
    if (key === 'keys' && typeof value === 'string') return { $rows: rows.push(value) - 1 };
    if (key === 'keys' && value instanceof KeyRows) return { $rows: rows.push(value.text) - 1 };
    return replacer.call(undefined, key, value);
  };
  const hash = createHash('sha256').update(JSON.stringify({ ruleset, module }, strip));
  for (const text of rows) hash.update(`\n${text.length}\n`).update(text);
  return hash.digest('hex');
}

/** The identity format 1 records declared: their content as JSON objects, without spans and source. */
function legacyDigest(compiled: CompiledPolicy): string {
  const strip = (key: string, value: unknown): unknown => (key === 'span' || key === 'source' || key === 'peer' ? undefined : replacer.call(undefined, key, value));
  return createHash('sha256').update(JSON.stringify({ ruleset: compiled.ruleset, module: compiled.module }, strip)).digest('hex');
}

export function makeRecord(compiled: CompiledPolicy, source: { path: string; text: string }, via: AppliedRecord['via'] = 'apply', appliedAt = new Date().toISOString()): AppliedRecord {
  return {
    format: STATE_FORMAT,
    table: compiled.ruleset.table,
    appliedAt,
    via,
    source: { path: source.path, sha256: createHash('sha256').update(source.text).digest('hex') },
    digest: compiledDigest(compiled),
    ruleset: compiled.ruleset,
    module: compiled.module,
    cil: emitCil(compiled.module),
  };
}

/**
 * Compact JSON, as Buffers to write one after the other: the element rows are spliced in as the
 * bytes they were built in, never part of one string of the whole record.
 */
function serialise(record: AppliedRecord): Buffer[] {
  const pieces = stringifySpliced({ ...record, ruleset: storedRuleset(record.ruleset) }, replacer, (value) =>
    value instanceof EscapedRows ? value.bytes : undefined,
  );
  pieces.push(Buffer.from('\n'));
  return pieces;
}

function parseRecord(text: string, path: string, table: string): AppliedRecord {
  return decodeRows(parseRecordRows(text, path, table), path);
}

/** The record's maps with their elements decoded from rows. */
function decodeRows(r: RecordRows, path: string): AppliedRecord {
  let maps: ObjectMap[];
  try {
    maps = r.ruleset.maps.map((m) => {
      if (!('rows' in m)) return m;
      const { rows, ...rest } = m;
      return { ...rest, elements: rowsToElements(rows, m.span.file) };
    });
  } catch (error) {
    if (error instanceof RowError || error instanceof TypeError) throw corruptRows(path, error);
    throw error;
  }
  return { ...r, ruleset: { ...r.ruleset, maps } };
}

/** A record's rows found malformed (by decodeRows, or by whoever reads RecordRows). */
export function corruptRows(path: string, error: Error): StateError {
  return new StateError(`state file ${path} is corrupt (map elements: ${error.message})`);
}

function parseRecordRows(text: string, path: string, table: string): RecordRows {
  const corrupt = (why: string) =>
    new StateError(`state file ${path} is corrupt (${why})`);
  let value: unknown;
  try {
    value = JSON.parse(text, reviver);
  } catch (error) {
    throw corrupt(`not JSON: ${(error as Error).message}`);
  }
  const r = value as (Omit<Partial<AppliedRecord>, 'format'> & { format?: unknown }) | null;
  if (!r || typeof r !== 'object') throw corrupt('not an object');
  if (r.format !== STATE_FORMAT && r.format !== 1) throw corrupt(`format ${JSON.stringify(r.format)}, expected ${STATE_FORMAT}`);
  if (r.table !== table) throw corrupt(`it is for table ${JSON.stringify(r.table)}, not ${table}`);
  if (!r.ruleset || !r.module || typeof r.digest !== 'string' || !r.source || typeof r.appliedAt !== 'string') throw corrupt('fields missing');
  if (r.ruleset.table !== table || r.module.name !== table) throw corrupt('ruleset or module names another table');
  if (!Array.isArray(r.ruleset.maps)) throw corrupt('maps missing');
  if (r.format === 1) {
    // The digest covers everything that would be loaded: a record edited or truncated by hand is refused.
    if (legacyDigest({ ruleset: r.ruleset, module: r.module }) !== r.digest) throw corrupt('content does not match its digest');
    // Format 1 predates exact maps: all its maps were interval maps.
    const maps = r.ruleset.maps.map((m) => ((m as { interval?: boolean }).interval === undefined ? { ...m, interval: true } : m));
    return { ...r, format: STATE_FORMAT, ruleset: { ...r.ruleset, maps }, module: withPrograms(r.module) } as AppliedRecord;
  }
  // The digest covers everything that would be loaded: a record edited or truncated by hand is refused.
  if (storedDigest(r.ruleset, r.module) !== r.digest) throw corrupt('content does not match its digest');
  return { ...r, module: withPrograms(r.module) } as RecordRows;
}

/** Records written before apps by program path have no `programs` in their module. */
function withPrograms(module: CilModule): CilModule {
  return Array.isArray(module.programs) ? module : { ...module, programs: [] };
}

// ---------------------------------------------------------------- files
//
// `<table>.state.json`, the index, says which record file is current and which previous, what the
// last writer left live in the kernel, and what a writer is loading now (`pending`, written
// before its batch is sent). Record files (`<table>.record.N.json`) are written once, in full,
// under a name of their own, and never changed; a commit is the rename of a new index over the
// old one, so at every instant the index names records that exist, whole. The index keeps the
// sha256 of each record file: a record that changed since it was written (truncated, edited) is
// refused, and never rotated into `previous`. Writers hold the table's lock (lock.ts).
//
// An apply's record file is written while the kernel processes the batch; so that a writer killed
// before it exists leaves something to recompile, its intent names `<table>.intent.N.json`: the
// policy text as compiled and the compile's other inputs, written once before the index names it.
// Not fsynced: the kernel's table does not outlive the machine, so it only has to outlive the
// process (a copy lost to a power loss fails its sha256 and is not used). A commit removes it.

/** The index format. Record files keep format 2 (STATE_FORMAT). */
export const INDEX_FORMAT = 3;

/** One record file as the index names it. */
export interface RecordEntry {
  /** File name in the state directory. */
  readonly file: string;
  /** sha256 of the whole file as written ('' for a record adopted from before the index: its content digest still guards it). */
  readonly sha256: string;
  /** The record's content digest (AppliedRecord.digest): which compiled policy it is. */
  readonly digest: string;
  readonly source: { readonly path: string; readonly sha256: string };
  /** When it was (last) loaded, and how: these override the file's own fields, which keep its first load. */
  readonly appliedAt: string;
  readonly via: AppliedRecord['via'];
  /** false: it was sent with counter objects in place of secmark objects (--no-lsm). */
  readonly lsm: boolean;
}

/** What a command is loading, or left loaded: a record, the lockdown ruleset, or no table at all (remove). */
export type Load =
  | {
      readonly kind: 'record';
      readonly file: string;
      readonly lsm: boolean;
      /**
       * A new record's policy file (apply): its record file is written while the kernel processes
       * the batch, so a writer killed then leaves a live table with no record; this names it.
       */
      readonly source?: { readonly path: string; readonly sha256: string };
      /** The intent file holding that policy's text and the compile's other inputs (readIntent). */
      readonly intent?: { readonly file: string; readonly sha256: string };
    }
  | { readonly kind: 'lockdown' }
  | { readonly kind: 'none' };

export type LoadCommand = 'apply' | 'rollback' | 'keep' | 'lockdown' | 'remove';

/** A record to be written during the load (apply): its file is named when the load begins. */
export interface NewRecord {
  readonly kind: 'new-record';
  readonly lsm: boolean;
  readonly source?: { readonly path: string; readonly text: string };
  /** With `source`: what else the compile depended on (opaque here), kept with the text in the intent file. */
  readonly inputs?: Readonly<Record<string, unknown>>;
}

/** An intent file as read back: an apply's policy text as compiled, and its other inputs. */
export interface Intent {
  readonly source: { readonly path: string; readonly sha256: string };
  readonly text: string;
  readonly inputs: Readonly<Record<string, unknown>>;
}

export const INTENT_FORMAT = 1;

/** A load in progress (or interrupted): written to the index before the batch is sent. */
export interface Pending {
  readonly command: LoadCommand;
  readonly pid: number;
  readonly since: string;
  readonly load: Load;
}

export interface StateIndex {
  readonly format: typeof INDEX_FORMAT;
  readonly table: string;
  readonly current: RecordEntry | null;
  readonly previous: RecordEntry | null;
  /** What the last completed command left in the kernel: the current record, the lockdown ruleset, or no table. */
  readonly live: 'current' | 'lockdown' | 'none';
  readonly pending: Pending | null;
  /** Number of the next record file. */
  readonly next: number;
  /**
   * The network namespace (inode of its nsfs file) the last writer loaded into: what `live` is
   * about. Records are per host; a state directory shared by writers to several namespaces is
   * compared only with the one it was last written for.
   */
  readonly netns?: number;
}

export function statePaths(stateDir: string, table: string) {
  return {
    index: join(stateDir, `${table}.state.json`),
    history: join(stateDir, `${table}.history`),
    /** Records written before the index existed: adopted, never written again. */
    legacyCurrent: join(stateDir, `${table}.applied.json`),
    legacyPrevious: join(stateDir, `${table}.previous.json`),
  };
}

const RECORD_FILE = (table: string) => new RegExp(`^${table}\\.record\\.\\d+\\.json$`);
const INTENT_FILE = (table: string) => new RegExp(`^${table}\\.intent\\.\\d+\\.json$`);

function emptyIndex(table: string): StateIndex {
  return { format: INDEX_FORMAT, table, current: null, previous: null, live: 'none', pending: null, next: 1 };
}

function corruptIndex(path: string, why: string): StateError {
  return new StateError(`state file ${path} is corrupt (${why}); move it away and apply a policy again`);
}

function validEntry(e: unknown, table: string): e is RecordEntry {
  const r = e as RecordEntry | null;
  return (
    !!r &&
    typeof r.file === 'string' &&
    (RECORD_FILE(table).test(r.file) || r.file === `${table}.applied.json` || r.file === `${table}.previous.json`) &&
    typeof r.sha256 === 'string' &&
    typeof r.digest === 'string' &&
    typeof r.appliedAt === 'string' &&
    typeof r.lsm === 'boolean' &&
    !!r.source
  );
}

/**
 * The table's index; from records written before the index existed when there is none (adopted
 * as they are: the first commit writes an index naming them). An empty index when there is nothing.
 */
export function readIndex(stateDir: string, table: string): StateIndex {
  const paths = statePaths(stateDir, table);
  const bytes = readTrusted(paths.index);
  if (bytes === undefined) return adoptLegacy(stateDir, table);
  let value: StateIndex;
  try {
    value = JSON.parse(bytes.toString('utf8')) as StateIndex;
  } catch (error) {
    throw corruptIndex(paths.index, `not JSON: ${(error as Error).message}`);
  }
  if (!value || value.format !== INDEX_FORMAT) throw corruptIndex(paths.index, `format ${JSON.stringify(value?.format)}, expected ${INDEX_FORMAT}`);
  if (value.table !== table) throw corruptIndex(paths.index, `it is for table ${JSON.stringify(value.table)}, not ${table}`);
  if (value.current !== null && !validEntry(value.current, table)) throw corruptIndex(paths.index, 'bad current entry');
  if (value.previous !== null && !validEntry(value.previous, table)) throw corruptIndex(paths.index, 'bad previous entry');
  if (!['current', 'lockdown', 'none'].includes(value.live) || !Number.isInteger(value.next)) throw corruptIndex(paths.index, 'fields missing');
  const load = value.pending?.load;
  if (load?.kind === 'record' && !RECORD_FILE(table).test(load.file) && load.file !== value.current?.file && load.file !== value.previous?.file) {
    throw corruptIndex(paths.index, 'bad pending entry');
  }
  if (load?.kind === 'record' && load.intent !== undefined && !(INTENT_FILE(table).test(load.intent.file) && typeof load.intent.sha256 === 'string')) {
    throw corruptIndex(paths.index, 'bad pending intent');
  }
  return value;
}

function adoptLegacy(stateDir: string, table: string): StateIndex {
  const paths = statePaths(stateDir, table);
  const adopt = (path: string): RecordEntry | null => {
    const bytes = readTrusted(path);
    if (bytes === undefined) return null;
    // A damaged one is adopted as it is (sha256 ''): reading it says what is wrong with it.
    let r: AppliedRecord | undefined;
    try {
      r = parseRecord(bytes.toString('utf8'), path, table);
    } catch {
      r = undefined;
    }
    const name = path.slice(path.lastIndexOf('/') + 1);
    return {
      file: name,
      sha256: '',
      digest: r?.digest ?? '',
      source: r?.source ?? { path: '?', sha256: '' },
      appliedAt: r?.appliedAt ?? '?',
      via: r?.via ?? 'apply',
      lsm: true,
    };
  };
  const current = adopt(paths.legacyCurrent);
  if (!current) return emptyIndex(table);
  return { ...emptyIndex(table), current, previous: adopt(paths.legacyPrevious), live: 'current' };
}

/** The index file's bytes. */
export function indexBytes(index: StateIndex): Buffer {
  return Buffer.from(JSON.stringify(index) + '\n');
}

/** Returns the sha256 of the bytes written (secmarkc-boot checks that the index is still these). */
function writeIndex(stateDir: string, index: StateIndex): string {
  return writeFileDurably(statePaths(stateDir, index.table).index, [indexBytes(index)], stateDir).sha256;
}

/** The record an entry names, checked against the sha256 the index holds for it. */
export function readEntry(stateDir: string, table: string, entry: RecordEntry): AppliedRecord {
  return decodeRows(readEntryRows(stateDir, table, entry), join(stateDir, entry.file));
}

/** readEntry with the maps' elements left as rows (see RecordRows). */
export function readEntryRows(stateDir: string, table: string, entry: RecordEntry): RecordRows {
  const path = join(stateDir, entry.file);
  const bytes = readTrusted(path);
  if (bytes === undefined) throw new StateError(`state file ${path} is missing (the index ${statePaths(stateDir, table).index} names it)`);
  if (entry.sha256 !== '' && sha256(bytes) !== entry.sha256) {
    throw new StateError(`state file ${path} is corrupt (its content changed since it was written: ${bytes.length} bytes, sha256 ${sha256(bytes).slice(0, 12)}, expected ${entry.sha256.slice(0, 12)})`);
  }
  const record = parseRecordRows(bytes.toString('utf8'), path, table);
  if (record.digest !== entry.digest) throw new StateError(`state file ${path} is corrupt (it holds policy ${record.digest.slice(0, 12)}, the index says ${entry.digest.slice(0, 12)})`);
  return { ...record, appliedAt: entry.appliedAt, via: entry.via };
}

/** Is the entry's file there, trusted and as written? (Checked before it is rotated into previous.) */
export function entryIntact(stateDir: string, table: string, entry: RecordEntry): boolean {
  try {
    // As readEntry, with every row checked but no element made: at every apply, the current
    // record's elements would otherwise all be garbage (or survive, to be copied by the collector).
    const record = readEntryRows(stateDir, table, entry);
    for (const map of record.ruleset.maps) if ('rows' in map) checkRows(map.rows, map.span.file);
    return true;
  } catch {
    return false;
  }
}

export type Slot = 'current' | 'previous';

/** The path of the record file in `slot`, undefined when there is none. */
export function recordFile(stateDir: string, table: string, slot: Slot): string | undefined {
  const entry = readIndex(stateDir, table)[slot];
  return entry ? join(stateDir, entry.file) : undefined;
}

/** The record in `slot`, undefined when there is none; StateError when it is unreadable or untrusted. */
export function readRecord(stateDir: string, table: string, slot: Slot): AppliedRecord | undefined {
  checkStateDir(stateDir);
  const entry = readIndex(stateDir, table)[slot];
  return entry ? readEntry(stateDir, table, entry) : undefined;
}

/**
 * A writer's start (holding the lock): the state directory checked, temporaries a killed writer
 * left swept, the index read.
 */
export function openRecords(stateDir: string, table: string): { index: StateIndex; swept: string[] } {
  checkStateDir(stateDir, true);
  const swept = sweepTemporaries(stateDir, table);
  return { index: readIndex(stateDir, table), swept };
}

/**
 * Before the batch: the index says what is being loaded (a new record gets its file name here).
 * This is also the proof that the state directory is writable, before anything is sent.
 */
export function beginLoad(stateDir: string, index: StateIndex, command: LoadCommand, load: Load | NewRecord): StateIndex {
  let next = index.next;
  let resolved: Load;
  if (load.kind === 'new-record') {
    const n = next++;
    const source = load.source && { path: load.source.path, sha256: sha256(load.source.text) };
    const intent = load.source && source && writeIntent(stateDir, `${index.table}.intent.${n}.json`, index.table, source, load.source.text, load.inputs ?? {});
    resolved = { kind: 'record', file: `${index.table}.record.${n}.json`, lsm: load.lsm, ...(source ? { source } : {}), ...(intent ? { intent } : {}) };
  } else resolved = load;
  const begun: StateIndex = { ...index, next, pending: { command, pid: process.pid, since: new Date().toISOString(), load: resolved } };
  writeIndex(stateDir, begun);
  return begun;
}

/** The intent file: written once, before the index names it; not fsynced (see "files" above). */
function writeIntent(stateDir: string, file: string, table: string, source: Intent['source'], text: string, inputs: Intent['inputs']): { file: string; sha256: string } {
  const json = JSON.stringify({ format: INTENT_FORMAT, table, source, inputs, text }) + '\n';
  return { file, sha256: writeFileOnce(join(stateDir, file), [Buffer.from(json)]).sha256 };
}

/**
 * The intent file of a pending apply: undefined when it names none, or when it is not there
 * (removed by a commit meanwhile); StateError when it is not as written.
 */
export function readIntent(stateDir: string, table: string, load: Load): Intent | undefined {
  if (load.kind !== 'record' || !load.intent || !load.source) return undefined;
  const path = join(stateDir, load.intent.file);
  const bytes = readTrusted(path);
  if (bytes === undefined) return undefined;
  const corrupt = (why: string) => new StateError(`intent file ${path} is corrupt (${why})`);
  if (sha256(bytes) !== load.intent.sha256) throw corrupt(`its content changed since it was written: ${bytes.length} bytes, sha256 ${sha256(bytes).slice(0, 12)}, expected ${load.intent.sha256.slice(0, 12)}`);
  let value: Partial<Intent> & { format?: unknown; table?: unknown };
  try {
    value = JSON.parse(bytes.toString('utf8')) as typeof value;
  } catch (error) {
    throw corrupt(`not JSON: ${(error as Error).message}`);
  }
  if (value.format !== INTENT_FORMAT || value.table !== table) throw corrupt(`format ${JSON.stringify(value.format)} for table ${JSON.stringify(value.table)}`);
  if (typeof value.text !== 'string' || !value.inputs || typeof value.inputs !== 'object') throw corrupt('fields missing');
  if (sha256(value.text) !== load.source.sha256 || value.source?.path !== load.source.path) throw corrupt('it holds another policy than the index names');
  return { source: load.source, text: value.text, inputs: value.inputs };
}

/** A record's file written, fsynced and under its own name (stageRecord); the index does not name it as current yet. */
export interface StagedRecord {
  readonly file: string;
  readonly sha256: string;
  readonly record: AppliedRecord;
}

/**
 * Write the pending record's file: most of a commit's cost at large sizes, so `apply` does it
 * while the kernel processes the batch. Whole or not at all under its name (temporary + rename).
 */
export function stageRecord(stateDir: string, index: StateIndex, record: AppliedRecord): StagedRecord {
  const load = index.pending?.load;
  if (load?.kind !== 'record') throw new Error('internal error: no record is pending');
  const path = join(stateDir, load.file);
  const { temp, sha256: hash } = writeTemp(path, serialise(record));
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return { file: load.file, sha256: hash, record };
}

/** A staged file read back (after an interrupted apply), if it is there and whole. */
export function readStaged(stateDir: string, table: string, file: string): StagedRecord | undefined {
  const path = join(stateDir, file);
  const bytes = readTrusted(path);
  if (bytes === undefined) return undefined;
  try {
    return { file, sha256: sha256(bytes), record: parseRecord(bytes.toString('utf8'), path, table) };
  } catch {
    return undefined;
  }
}

export interface Committed {
  readonly index: StateIndex;
  /** The current record was rotated into previous. */
  readonly rotated: boolean;
  /** A damaged current record that was replaced (not rotated), kept under this name. */
  readonly damaged?: string;
  /** sha256 of the index file as written (commitLoad; not committedIndex, which writes nothing). */
  readonly indexSha256?: string;
}

/**
 * After the kernel applied the pending load: one rename of the new index. A new record becomes
 * current and the current one previous if it is intact and a different policy (the same policy
 * again only refreshes current); a damaged current record is replaced, not rotated, and kept as
 * `<file>.damaged`. A rollback swaps current and previous. Files no longer named are removed.
 */
export function commitLoad(stateDir: string, index: StateIndex, staged?: StagedRecord, now = new Date().toISOString()): Committed {
  const committed = committedIndex(stateDir, index, staged, now);
  if (committed.damaged && index.current) renameSync(join(stateDir, index.current.file), join(stateDir, committed.damaged));
  const indexSha256 = writeIndex(stateDir, committed.index);
  removeUnnamed(stateDir, index, committed.index);
  if (committed.damaged) pruneDamaged(stateDir, index.table);
  return { ...committed, indexSha256 };
}

/** How many `.damaged` copies of a table's records are kept (the newest: a repeated fault must not fill the disk). */
export const DAMAGED_KEPT = 3;

/** Remove all but the newest DAMAGED_KEPT copies of damaged records, known by name (only ours); records written before the index count as oldest. */
function pruneDamaged(stateDir: string, table: string): void {
  const pattern = new RegExp(`^${table}\\.(?:record\\.(\\d+)|applied|previous)\\.json\\.damaged$`);
  const damaged = readdirSync(stateDir)
    .flatMap((name) => {
      const match = pattern.exec(name);
      return match ? [{ name, n: match[1] === undefined ? -1 : Number(match[1]) }] : [];
    })
    .sort((a, b) => b.n - a.n);
  for (const { name } of damaged.slice(DAMAGED_KEPT)) rmSync(join(stateDir, name), { force: true });
}

/** The index commitLoad writes, without writing it (a repair on a read-only state directory goes on with it in memory). */
export function committedIndex(stateDir: string, index: StateIndex, staged?: StagedRecord, now = new Date().toISOString()): Committed {
  const pending = index.pending;
  if (!pending) throw new Error('internal error: nothing is pending');
  let next: StateIndex = { ...index, pending: null };
  let rotated = false;
  let damaged: string | undefined;
  if (pending.load.kind !== 'record') next = { ...next, live: pending.load.kind };
  else if (pending.command === 'apply') {
    if (!staged) throw new Error('internal error: no staged record');
    const r = staged.record;
    const entry: RecordEntry = { file: staged.file, sha256: staged.sha256, digest: r.digest, source: r.source, appliedAt: r.appliedAt, via: 'apply', lsm: pending.load.lsm };
    const current = index.current;
    const intact = current !== null && entryIntact(stateDir, index.table, current);
    rotated = intact && current.digest !== entry.digest;
    if (current && !intact) damaged = `${current.file}.damaged`;
    next = { ...next, current: entry, previous: rotated ? current : index.previous, live: 'current' };
  } else if (pending.command === 'rollback') {
    const to = index.previous;
    if (!to || to.file !== pending.load.file) throw new Error('internal error: the rollback target is not the previous record');
    const from = index.current && entryIntact(stateDir, index.table, index.current) ? index.current : null;
    if (index.current && !from) damaged = `${index.current.file}.damaged`;
    next = { ...next, current: { ...to, appliedAt: now, via: 'rollback', lsm: pending.load.lsm }, previous: from, live: 'current' };
    rotated = true;
  } else {
    // keep: the current record loaded again.
    next = { ...next, current: index.current && { ...index.current, lsm: pending.load.lsm }, live: 'current' };
  }
  return { index: next, rotated, ...(damaged ? { damaged } : {}) };
}

/** The pending load did not happen (refused, or found not live): the index as before, its staged file removed. */
export function abandonLoad(stateDir: string, index: StateIndex): StateIndex {
  const next = { ...index, pending: null };
  writeIndex(stateDir, next);
  removeUnnamed(stateDir, index, next);
  return next;
}

/** Record and intent files the new index no longer names (and staged files of killed writers), removed. */
function removeUnnamed(stateDir: string, before: StateIndex, after: StateIndex): void {
  const pendingFiles = (index: StateIndex) => (index.pending?.load.kind === 'record' ? [index.pending.load.file, index.pending.load.intent?.file] : []);
  const named = new Set([after.current?.file, after.previous?.file, ...pendingFiles(after)]);
  const candidates = new Set([before.current?.file, before.previous?.file, ...pendingFiles(before)]);
  const records = RECORD_FILE(before.table);
  const intents = INTENT_FILE(before.table);
  for (const name of readdirSync(stateDir)) if (records.test(name) || intents.test(name)) candidates.add(name);
  for (const name of candidates) if (name !== undefined && !named.has(name)) rmSync(join(stateDir, name), { force: true });
}

/**
 * Record a successful load without a kernel (tests, tools): begin, stage, commit. The same policy
 * again (same digest) only refreshes `current`, so `previous` keeps the policy that really came
 * before; a damaged current record is replaced, not rotated.
 */
export function recordApplied(stateDir: string, record: AppliedRecord, lsm = true): { rotated: boolean } {
  const { index } = openRecords(stateDir, record.table);
  const begun = beginLoad(stateDir, index, 'apply', { kind: 'new-record', lsm });
  return commitLoad(stateDir, begun, stageRecord(stateDir, begun, record));
}

/** A rollback without a kernel (tests, tools): previous becomes current and current previous. */
export function recordRollback(stateDir: string, table: string, lsm = true): AppliedRecord {
  const { index } = openRecords(stateDir, table);
  if (!index.previous) throw new StateError(`no previous record for table ${table}`);
  const committed = commitLoad(stateDir, beginLoad(stateDir, index, 'rollback', { kind: 'record', file: index.previous.file, lsm }));
  return readEntry(stateDir, table, committed.index.current!);
}

/** 'boot': written by native/secmarkc-boot when it loaded the boot file. */
export type HistoryEvent = LoadCommand | 'repair' | 'boot';

/** One JSON line per load, fallback or repair, for audits: `<table>.history` (never through a symlink). */
export function appendHistory(stateDir: string, table: string, event: HistoryEvent, detail: Record<string, unknown>): void {
  checkStateDir(stateDir, true);
  appendTrusted(statePaths(stateDir, table).history, JSON.stringify({ at: new Date().toISOString(), event, ...detail }) + '\n');
}
