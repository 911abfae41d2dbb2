// One writer at a time per table: an exclusive flock(2) on `<table>.lock` in the state directory,
// held from before the records are read until the new one is committed. Node has no flock: the
// addon's tryLockExclusive makes the one system call (a writer loads the addon anyway, to talk to
// the kernel; spawning util-linux flock(1) for it cost a fork and exec of node per apply). flock
// locks belong to the open file description, which we keep open: the lock is ours until we close
// it or die (the kernel drops it then, even on SIGKILL: no stale lock files). Waiting (--wait) is
// polling with a non-blocking try, so the main thread never blocks in the kernel past the deadline.
// Readers never take it; `lockHolder` looks in /proc/locks instead.

import { closeSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tryLockExclusive } from '../native.js';
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

/** How often a waiting writer tries again (a release is noticed within this). */
const RETRY_MS = 20;

const sleep = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Try the lock until `waitSeconds` have passed (at least once): true once taken. */
function flock(fd: number, waitSeconds: number): boolean {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    let taken: boolean;
    try {
      taken = tryLockExclusive(fd);
    } catch (error) {
      if ((error as { syscall?: unknown }).syscall !== 'flock') throw error; // the addon could not be loaded: say so as such
      throw new LockError(`cannot lock the state directory: ${(error as Error).message}`);
    }
    const left = deadline - Date.now();
    if (taken || left <= 0) return taken;
    sleep(Math.min(RETRY_MS, left));
  }
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
    if (!flock(fd, 0)) {
      const holder = readHolder(path);
      if (waitSeconds <= 0) throw new LockError(`${path} is locked by ${describeHolder(holder)}, another secmarkc writing table ${table} (--wait 0)`);
      onWait?.(holder);
      if (!flock(fd, waitSeconds)) {
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
