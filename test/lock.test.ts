// The state lock (src/apply/lock.ts) is a real flock(2), taken through the addon: exclusive
// against util-linux flock(1) in both directions, --wait 0 refuses a held lock at once and names
// its holder, and a waiter takes it once the holder lets go. (Two secmarkc writers against each
// other: fault-injection.test.ts, "one writer at a time".) Each lock here is on a fresh file in a
// private state directory; only the order of events is asserted, never how long they took.

import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockPath, lockState, LockError, type Holder } from '../src/apply/lock.js';

const FLOCK = ['/usr/bin/flock', '/bin/flock'].find((p) => existsSync(p));
const flockTest = FLOCK ? test : test.skip;
const skipped = FLOCK ? '' : ' [skipped: needs util-linux flock(1)]';

const dirs: string[] = [];
test.after.always(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-lock-'));
  dirs.push(dir);
  return dir;
}

/** flock(1) -n on the file: true when it could take the lock (and let it go at once). */
const flockCanTake = (path: string): boolean => spawnSync(FLOCK!, ['--exclusive', '--nonblock', path, 'true']).status === 0;

/** flock(1) holding the file's lock until killed (or until it has slept `seconds`); resolves once it holds it. */
async function flockHolder(path: string, seconds = 600): Promise<ChildProcess> {
  // --no-fork: flock(1) becomes the sleep that holds the lock, so killing the child lets it go.
  const child = spawn(FLOCK!, ['--exclusive', '--no-fork', path, 'sleep', String(seconds)], { stdio: 'ignore' });
  while (flockCanTake(path)) {
    if (child.exitCode !== null) throw new Error('flock(1) exited before it held the lock');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return child;
}

const exited = (child: ChildProcess): Promise<unknown> => (child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve)));

flockTest(`a taken lock keeps flock(1) out until it is released${skipped}`, (t) => {
  const dir = stateDir();
  const lock = lockState(dir, 'secmarkc', 'apply', 0);
  t.false(flockCanTake(lock.path), 'flock -n fails while secmarkc holds the lock');
  lock.release();
  t.true(flockCanTake(lock.path), 'and succeeds once it is released');
});

flockTest(`--wait 0 refuses a lock flock(1) holds, naming the holder the lock file names${skipped}`, async (t) => {
  const dir = stateDir();
  const path = lockPath(dir, 'secmarkc');
  writeFileSync(path, JSON.stringify({ pid: 4242, command: 'apply', since: '2026-01-01T00:00:00.000Z' }) + '\n', { mode: 0o600 });
  const holder = await flockHolder(path);
  try {
    const error = t.throws(() => lockState(dir, 'secmarkc', 'apply', 0), { instanceOf: LockError });
    t.is(error?.message, `${path} is locked by PID 4242 (secmarkc apply, since 2026-01-01T00:00:00.000Z), another secmarkc writing table secmarkc (--wait 0)`);
  } finally {
    holder.kill();
    await exited(holder);
  }
  const lock = lockState(dir, 'secmarkc', 'apply', 0);
  t.false(flockCanTake(path), 'the holder is gone: now secmarkc holds it');
  lock.release();
});

flockTest(`a waiter hears who holds the lock and takes it once the holder lets go${skipped}`, async (t) => {
  const dir = stateDir();
  const path = lockPath(dir, 'secmarkc');
  // The holder lets go by itself (lockState blocks this thread, so nothing here could kill it).
  const holder = await flockHolder(path, 1);
  const heard: Holder[] = [];
  const lock = lockState(dir, 'secmarkc', 'apply', 60, (h) => heard.push(h));
  t.is(heard.length, 1, 'onWait is told once');
  t.false(flockCanTake(path));
  lock.release();
  await exited(holder);
});

flockTest(`a waiter that is never let in fails with the holder after --wait${skipped}`, async (t) => {
  const dir = stateDir();
  const path = lockPath(dir, 'secmarkc');
  const holder = await flockHolder(path);
  try {
    const error = t.throws(() => lockState(dir, 'secmarkc', 'apply', 1), { instanceOf: LockError });
    t.regex(error?.message ?? '', /is still locked by another process after 1 s \(--wait\)$/);
  } finally {
    holder.kill();
    await exited(holder);
  }
});
