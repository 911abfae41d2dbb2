// The applied-policy record in the state directory: the last successfully applied policy in
// compiled form (IR ruleset + CIL module; map elements as rows, see element-rows.ts), and the one
// applied before it. Enough to load either
// again without the policy file or the compiler's inputs: `apply --rollback` and the `keep`
// fallback of `apply --on-invalid` read it. Files are replaced atomically (temporary file,
// fsync, rename), so a crash leaves the old or the new record, never half of one.

import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CilModule, CompiledPolicy, ObjectMap, Ruleset } from '../compile/ir.js';
import { emitCil } from '../emit/cil.js';
import { EscapedRows, KeyRows, mapToRowBytes, RowError, rowsToElements, type MapRowBytes, type MapRows } from './element-rows.js';
import { stringifySpliced } from './json-splice.js';

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

export type Slot = 'current' | 'previous';

export class StateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateError';
  }
}

export function statePaths(stateDir: string, table: string): Record<Slot | 'history', string> {
  return {
    current: join(stateDir, `${table}.applied.json`),
    previous: join(stateDir, `${table}.previous.json`),
    history: join(stateDir, `${table}.history`),
  };
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

/** Content identity: what would be loaded, without where it was written down (spans, source path). */
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
    if (key === 'span' || key === 'spans' || key === 'source') return undefined;
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
  const strip = (key: string, value: unknown): unknown => (key === 'span' || key === 'source' ? undefined : replacer.call(undefined, key, value));
  return createHash('sha256').update(JSON.stringify({ ruleset: compiled.ruleset, module: compiled.module }, strip)).digest('hex');
}

export function makeRecord(compiled: CompiledPolicy, source: { path: string; text: string }, via: AppliedRecord['via'] = 'apply'): AppliedRecord {
  return {
    format: STATE_FORMAT,
    table: compiled.ruleset.table,
    appliedAt: new Date().toISOString(),
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
 * bytes they were built in, never part of one string of the whole record (4 MB at 100,000 elements).
 */
function serialise(record: AppliedRecord): Buffer[] {
  const pieces = stringifySpliced({ ...record, ruleset: storedRuleset(record.ruleset) }, replacer, (value) =>
    value instanceof EscapedRows ? value.bytes : undefined,
  );
  pieces.push(Buffer.from('\n'));
  return pieces;
}

function parseRecord(text: string, path: string, table: string): AppliedRecord {
  const corrupt = (why: string) =>
    new StateError(`state file ${path} is corrupt (${why}); move it away and apply a policy again (nothing was changed)`);
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
    return { ...r, format: STATE_FORMAT, ruleset: { ...r.ruleset, maps } } as AppliedRecord;
  }
  // The digest covers everything that would be loaded: a record edited or truncated by hand is refused.
  if (storedDigest(r.ruleset, r.module) !== r.digest) throw corrupt('content does not match its digest');
  let maps: ObjectMap[];
  try {
    maps = (r.ruleset.maps as StoredMap<MapRows>[]).map((m) => {
      if (!('rows' in m)) return m;
      const { rows, ...rest } = m;
      return { ...rest, elements: rowsToElements(rows, m.span.file) };
    });
  } catch (error) {
    if (error instanceof RowError || error instanceof TypeError) throw corrupt(`map elements: ${error.message}`);
    throw error;
  }
  return { ...r, ruleset: { ...r.ruleset, maps } } as AppliedRecord;
}

// ---------------------------------------------------------------- files

/** Write a temporary file beside `path` and fsync it; returns its name, for a rename into place. */
function writeTemp(path: string, pieces: readonly Buffer[]): string {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeAll(fd, pieces);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return temp;
}

/** The pieces one after the other (a few per map), each resumed after a short write. */
function writeAll(fd: number, pieces: readonly Buffer[]): void {
  for (const piece of pieces) for (let done = 0; done < piece.length; ) done += writeSync(fd, piece, done);
}

function fsyncDir(dir: string): void {
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Write beside the target, fsync, rename over it, fsync the directory. */
export function writeFileDurably(path: string, pieces: readonly Buffer[], dir: string): void {
  const temp = writeTemp(path, pieces);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  fsyncDir(dir);
}

/**
 * The digest a record file declares, read from its first bytes (the field comes before the
 * ruleset), without parsing or verifying the whole record; undefined when absent or unreadable.
 */
function declaredDigest(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    return /"digest":\s*"([0-9a-f]{64})"/.exec(head.subarray(0, n).toString('utf8'))?.[1];
  } finally {
    closeSync(fd);
  }
}

/** The record in `slot`, undefined when there is none; StateError when it is unreadable. */
export function readRecord(stateDir: string, table: string, slot: Slot): AppliedRecord | undefined {
  const path = statePaths(stateDir, table)[slot];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateError(`cannot read state file ${path}: ${(error as Error).message}`);
  }
  return parseRecord(text, path, table);
}

/**
 * Record a successful load. A different policy moves the current record to `previous`; the
 * same policy again (same digest) only refreshes `current`, so `previous` keeps the policy
 * that really came before. An unreadable current record is replaced, not rotated.
 */
export function recordApplied(stateDir: string, record: AppliedRecord): { rotated: boolean } {
  return commitRecord(stageRecord(stateDir, record));
}

/** A record's file written and fsynced beside its place (stageRecord), not yet in it. */
export interface StagedRecord {
  readonly stateDir: string;
  readonly record: AppliedRecord;
  readonly temp: string;
}

/**
 * The first half of recordApplied, and most of its cost at large sizes: the file written in full
 * beside its place and fsynced. `apply` does this while the kernel processes the batch; then
 * commitRecord puts it in place if the batch was applied, discardRecord removes it if not.
 */
export function stageRecord(stateDir: string, record: AppliedRecord): StagedRecord {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  return { stateDir, record, temp: writeTemp(statePaths(stateDir, record.table).current, serialise(record)) };
}

/** The second half of recordApplied: rotate, rename into place, fsync the directory. */
export function commitRecord(staged: StagedRecord): { rotated: boolean } {
  const { stateDir, record, temp } = staged;
  const paths = statePaths(stateDir, record.table);
  // Rotation moves the current file as it is (a rename, not a parse and rewrite: at 100,000
  // elements that cost seconds per apply); its content is verified when it is read back.
  const currentDigest = declaredDigest(paths.current);
  const rotated = currentDigest !== undefined && currentDigest !== record.digest;
  try {
    if (rotated) renameSync(paths.current, paths.previous);
    renameSync(temp, paths.current);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  fsyncDir(stateDir);
  return { rotated };
}

/** A staged record that will not be committed (the batch was refused): its file is removed. */
export function discardRecord(staged: StagedRecord): void {
  rmSync(staged.temp, { force: true });
}

/** After a rollback: the restored record becomes current, the one rolled back from previous. */
export function recordRollback(stateDir: string, restored: AppliedRecord, from: AppliedRecord | undefined): AppliedRecord {
  const paths = statePaths(stateDir, restored.table);
  const now: AppliedRecord = { ...restored, appliedAt: new Date().toISOString(), via: 'rollback' };
  if (from) writeFileDurably(paths.previous, serialise(from), stateDir);
  else rmSync(paths.previous, { force: true });
  writeFileDurably(paths.current, serialise(now), stateDir);
  return now;
}

export type HistoryEvent = 'apply' | 'rollback' | 'keep' | 'lockdown';

/** One JSON line per load or fallback, for audits: `<table>.history`. */
export function appendHistory(stateDir: string, table: string, event: HistoryEvent, detail: Record<string, unknown>): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  appendFileSync(statePaths(stateDir, table).history, JSON.stringify({ at: new Date().toISOString(), event, ...detail }) + '\n', { mode: 0o600 });
}
