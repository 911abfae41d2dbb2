// The state directory's files, opened as sshd's StrictModes would: only what root (or the
// running user) owns and nobody else may write is trusted, and nothing is followed through a
// symlink. Writes go to a temporary file (O_EXCL, O_NOFOLLOW), fsynced and renamed into place;
// temporaries a killed writer left are swept by name (only ours).

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SecmarkcError } from '../errors.js';

/** Where apply keeps its records, the label journal and the last installed module text. */
export const DEFAULT_STATE_DIR = '/var/lib/secmarkc';

export class StateError extends SecmarkcError {
  constructor(message: string, code: 'SMC120' | 'SMC121' = 'SMC120') {
    super(code, message);
  }
}

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_DIRECTORY } = constants;

const euid = (): number => process.geteuid?.() ?? 0;

/** Why `st` may not be trusted, or undefined: owned by root or us, and nobody else may write it. */
function distrust(st: Stats, what: string): string | undefined {
  if (st.uid !== 0 && st.uid !== euid()) return `${what} is owned by uid ${st.uid}, not root`;
  const sticky = st.isDirectory() && (st.mode & 0o1000) !== 0 && st.uid === 0;
  if ((st.mode & 0o022) !== 0 && !sticky) return `${what} is writable by others (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return undefined;
}

function refuse(why: string, fix: string): StateError {
  return new StateError(`${why}: refusing to trust it (anyone who can write there could choose what secmarkc loads); ${fix}`);
}

/**
 * The state directory must be owned by root (or us) and writable by nobody else, and so must each
 * directory above it, except root-owned sticky ones such as /tmp. With `create`, a missing state
 * directory is made (0700).
 */
export function checkStateDir(stateDir: string, create = false): void {
  const dir = resolve(stateDir);
  if (create) mkdirSync(dir, { recursive: true, mode: 0o700 });
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch (error) {
    throw new StateError(`cannot use the state directory ${dir}: ${(error as Error).message}`);
  }
  if (st.isSymbolicLink()) st = statSync(dir);
  if (!st.isDirectory()) throw new StateError(`the state directory ${dir} is not a directory`);
  const why = distrust(st, `the state directory ${dir}`);
  if (why) throw refuse(why, `fix it: chown root: ${dir}; chmod 700 ${dir}`);
  for (let above = dirname(dir); ; above = dirname(above)) {
    const parent = statSync(above);
    const whyParent = distrust(parent, `${above}, above the state directory ${dir},`);
    if (whyParent) throw refuse(whyParent, `use a state directory under root-owned directories (--state-dir)`);
    if (above === dirname(above)) break;
  }
}

/**
 * Open a file in the state directory without following a symlink, and check that it is a regular
 * file we may trust. undefined when it does not exist (and `flags` do not create it).
 */
export function openTrusted(path: string, flags: number, mode = 0o600): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, flags | O_NOFOLLOW, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && (flags & O_CREAT) === 0) return undefined;
    if (code === 'ELOOP') throw new StateError(`state file ${path} is a symbolic link: refusing to follow it; remove it`);
    throw new StateError(`cannot open state file ${path}: ${(error as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new StateError(`state file ${path} is not a regular file`);
    const why = distrust(st, `state file ${path}`);
    if (why) throw refuse(why, `remove it, or fix it: chown root: ${path}; chmod 600 ${path}`);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

/** A trusted file's bytes; undefined when it does not exist. */
export function readTrusted(path: string): Buffer | undefined {
  const fd = openTrusted(path, O_RDONLY);
  if (fd === undefined) return undefined;
  try {
    const size = fstatSync(fd).size;
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.max(65536, size + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
    return Buffer.concat(chunks, total);
  } catch (error) {
    if (error instanceof StateError) throw error;
    throw new StateError(`cannot read state file ${path}: ${(error as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Temporaries are `<target>.<12 hex>.tmp`: the sweep knows ours by that. */
const TEMP = /\.[0-9a-f]{12}\.tmp$/;

/**
 * Write a temporary file beside `path` (O_EXCL, O_NOFOLLOW) and fsync it (unless `sync` is false);
 * returns its name, for a rename into place, and the sha256 of what was written.
 */
export function writeTemp(path: string, pieces: readonly Buffer[], sync = true): { temp: string; sha256: string } {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const hash = createHash('sha256');
  try {
    const fd = openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      for (const piece of pieces) {
        hash.update(piece);
        for (let done = 0; done < piece.length; ) done += writeSync(fd, piece, done);
      }
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return { temp, sha256: hash.digest('hex') };
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, O_RDONLY | O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Write beside the target, fsync, rename over it (a symlink there is replaced, not followed), fsync the directory. */
export function writeFileDurably(path: string, pieces: readonly Buffer[], dir: string): { sha256: string } {
  const { temp, sha256 } = writeTemp(path, pieces);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  fsyncDir(dir);
  return { sha256 };
}

/**
 * Write beside the target and rename, without fsync: whole or absent under its name if the process
 * is killed, but not across a power loss (for what only has to outlive the process; readers check
 * its sha256).
 */
export function writeFileOnce(path: string, pieces: readonly Buffer[]): { sha256: string } {
  const { temp, sha256 } = writeTemp(path, pieces, false);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return { sha256 };
}

/** Append one line to a trusted file (created 0600), never through a symlink; fsynced, with its directory when it is new. */
export function appendTrusted(path: string, line: string): void {
  const fd = openTrusted(path, O_WRONLY | O_CREAT | O_APPEND);
  if (fd === undefined) throw new StateError(`cannot open ${path}`);
  let created: boolean;
  try {
    created = fstatSync(fd).size === 0;
    const bytes = Buffer.from(line);
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (created) fsyncDir(dirname(path));
}

/**
 * Open (creating) the lock file read-only: flock needs no write access, and a writer holds no
 * writable descriptor for its whole run (which would keep its file system from being remounted
 * read-only). On a read-only file system an existing one still opens.
 */
export function openLockFile(path: string): number {
  const fd = openTrusted(path, O_RDONLY | O_CREAT);
  if (fd === undefined) throw new StateError(`cannot open ${path}`);
  return fd;
}

/** Replace a trusted file's content in place (the lock file's holder line); false when it cannot be written. */
export function overwriteTrusted(path: string, text: string): boolean {
  let fd: number | undefined;
  try {
    fd = openTrusted(path, O_WRONLY);
    if (fd === undefined) return false;
    ftruncateSync(fd, 0);
    writeSync(fd, text, 0);
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Remove the temporaries of `table` that a killed writer left (`<table>.<name>.<12 hex>.tmp`);
 * call it holding the table's lock, so that none is being written. Returns their names.
 */
export function sweepTemporaries(stateDir: string, table: string): string[] {
  const swept: string[] = [];
  for (const name of readdirSync(stateDir)) {
    if (!name.startsWith(`${table}.`) || !TEMP.test(name)) continue;
    try {
      rmSync(join(stateDir, name), { force: true });
    } catch {
      // A read-only state directory: left for a writer that can remove it (readers skip temporaries).
      continue;
    }
    swept.push(name);
  }
  return swept;
}
