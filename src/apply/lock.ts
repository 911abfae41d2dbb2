// One writer at a time per table: an exclusive flock(2) on `<table>.lock` in the state directory,
// held from before the records are read until the new one is committed. Node has no flock, the
// npm packages that wrap it need a compiler, and the addon is a netlink byte pipe: so flock(1)
// (util-linux) takes the lock on a file descriptor it inherits from us. flock locks belong to the
// open file description, which we keep open after the child exits: the lock is ours until we
// close it or die (the kernel drops it then, even on SIGKILL: no stale lock files).
// Readers never take it; `lockHolder` looks in /proc/locks instead.

import { spawnSync } from 'node:child_process';
import { closeSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openLockFile, overwriteTrusted, StateError } from '../records/state-dir.js';

export class LockError extends StateError {
  constructor(message: string) {
    super(message, 'SMC121');
  }
}

export interface Holder {
  readonly pid?: number;
  readonly command?: string;
  readonly since?: string;
}

export interface StateLock {
  readonly path: string;
  release(): void;
}

export const lockPath = (stateDir: string, table: string): string => join(stateDir, `${table}.lock`);

/** util-linux flock(1) by absolute path first: npm puts node_modules/.bin first on PATH. */
const FLOCK = ['/usr/bin/flock', '/bin/flock'].find((p) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}) ?? 'flock';

/** flock(1) on our fd 3 (its fd 3): 0 taken, 1 busy (-n) or timed out (-w). */
function flock(fd: number, waitSeconds: number): number {
  const args = waitSeconds > 0 ? ['--exclusive', '--wait', String(waitSeconds), '3'] : ['--exclusive', '--nonblock', '3'];
  const r = spawnSync(FLOCK, args, { stdio: ['ignore', 'ignore', 'pipe', fd], encoding: 'utf8' });
  if (r.error) throw new LockError(`cannot run flock(1) to lock the state directory (Debian package util-linux): ${r.error.message}`);
  if (r.status !== 0 && r.status !== 1) throw new LockError(`flock(1) failed: ${r.stderr.trim() || `exit ${r.status}`}`);
  return r.status;
}

function readHolder(path: string): Holder {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Holder;
  } catch {
    return {};
  }
}

export function describeHolder(h: Holder): string {
  return h.pid === undefined ? 'another process' : `PID ${h.pid}${h.command ? ` (secmarkc ${h.command}` : ' ('}${h.since ? `${h.command ? ', ' : ''}since ${h.since})` : ')'}`;
}

/**
 * Take the table's lock, waiting up to `waitSeconds` (0: fail at once if it is taken); `onWait`
 * hears once who holds it. Throws LockError when it stays taken.
 */
export function lockState(stateDir: string, table: string, command: string, waitSeconds: number, onWait?: (holder: Holder) => void): StateLock {
  const path = lockPath(stateDir, table);
  const fd = openLockFile(path);
  try {
    if (flock(fd, 0) !== 0) {
      const holder = readHolder(path);
      if (waitSeconds <= 0) throw new LockError(`${path} is locked by ${describeHolder(holder)}, another secmarkc writing table ${table} (--wait 0)`);
      onWait?.(holder);
      if (flock(fd, waitSeconds) !== 0) {
        throw new LockError(`${path} is still locked by ${describeHolder(readHolder(path))} after ${waitSeconds} s (--wait)`);
      }
    }
    // Who holds it, for the messages of those who wait (best effort: not on a read-only state directory).
    overwriteTrusted(path, JSON.stringify({ pid: process.pid, command, since: new Date().toISOString() }) + '\n');
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let held = true;
  return {
    path,
    release: () => {
      if (held) closeSync(fd);
      held = false;
    },
  };
}

/**
 * Who holds the table's lock now, without taking it (for readers): /proc/locks lists every flock
 * by device and inode. undefined when nobody does (or it cannot be told).
 */
export function lockHolder(stateDir: string, table: string): Holder | undefined {
  const path = lockPath(stateDir, table);
  let ino: number;
  let locks: string;
  try {
    ino = statSync(path).ino;
    locks = readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2146311 0 EOF" (a blocked waiter's line starts "1: -> ").
  const held = locks.split('\n').some((line) => {
    const m = /^\d+:\s+FLOCK\s+\S+\s+WRITE\s+\d+\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    return m !== null && Number(m[1]) === ino;
  });
  return held ? readHolder(path) : undefined;
}
