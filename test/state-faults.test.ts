// Records under faults, without a kernel: a crash at every filesystem step of a commit, damaged
// and forged records, symlinks in the state directory, temporaries left by killed writers.

import test from 'ava';
import fs, { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendHistory, readRecord, recordApplied, recordFile, StateError } from '../src/records/state.js';
import { EXAMPLE_TEXT, recordOf } from './helpers/fixtures.js';

const P2 = EXAMPLE_TEXT.replace('tcp/3128', 'tcp/8080');
const P3 = EXAMPLE_TEXT.replace('tcp/3128', 'tcp/8443');
const stateDir = () => mkdtempSync(join(tmpdir(), 'secmarkc-faults-'));
const digestOf = (dir: string, slot: 'current' | 'previous') => readRecord(dir, 'secmarkc', slot)?.digest;

class Crash extends Error {}

/** Run `body` with the n-th call (1-based) of any of `names` in node:fs throwing Crash, as a kill there would stop it. */
function crashingAt<T>(n: number, names: readonly ('renameSync' | 'unlinkSync' | 'rmSync' | 'writeSync' | 'fsyncSync')[], body: () => T): { crashed: boolean } {
  const saved = names.map((name) => [name, fs[name]] as const);
  let calls = 0;
  for (const [name, original] of saved) {
    (fs as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      if (++calls === n) throw new Crash(`crash at ${name} #${n}`);
      return (original as (...a: unknown[]) => unknown)(...args);
    };
  }
  syncBuiltinESMExports();
  try {
    body();
    return { crashed: false };
  } catch (error) {
    if (error instanceof Crash) return { crashed: true };
    throw error;
  } finally {
    for (const [name, original] of saved) (fs as unknown as Record<string, unknown>)[name] = original;
    syncBuiltinESMExports();
  }
}

test('a crash at any filesystem step of a commit leaves the old records or the new ones, never none (defect 1)', (t) => {
  const p1 = recordOf(EXAMPLE_TEXT).digest;
  const p2 = recordOf(P2).digest;
  let steps = 0;
  for (let n = 1; ; n++) {
    const dir = stateDir();
    recordApplied(dir, recordOf(EXAMPLE_TEXT));
    const { crashed } = crashingAt(n, ['renameSync', 'unlinkSync', 'rmSync', 'fsyncSync'], () => recordApplied(dir, recordOf(P2)));
    const current = digestOf(dir, 'current');
    const previous = digestOf(dir, 'previous');
    if (current === p2) t.is(previous, p1, `crash at step ${n}: new current, the old one as previous`);
    else t.deepEqual([current, previous], [p1, undefined], `crash at step ${n}: the old records as they were`);
    if (!crashed) break;
    steps++;
  }
  t.log(`crashed at each of ${steps} filesystem steps of a commit`);
  t.true(steps >= 2);
});

test('a truncated current record is replaced, not rotated: previous keeps the good one (defect 2)', (t) => {
  const dir = stateDir();
  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  recordApplied(dir, recordOf(P2));
  const currentFile = readdirSync(dir).map((f) => join(dir, f)).find((f) => readFileSync(f, 'utf8').includes('"digest":"' + recordOf(P2).digest));
  if (!currentFile) return t.fail('no current record file');
  // Cut after the digest field: the declared digest is still readable at the top of the file.
  writeFileSync(currentFile, readFileSync(currentFile).subarray(0, 6000));
  t.throws(() => readRecord(dir, 'secmarkc', 'current'), { instanceOf: StateError });
  recordApplied(dir, recordOf(P3));
  t.is(digestOf(dir, 'current'), recordOf(P3).digest);
  t.is(digestOf(dir, 'previous'), recordOf(EXAMPLE_TEXT).digest, 'the good previous record survives');
});

const root = process.getuid?.() === 0;
(root ? test : test.skip)(`a record owned by another user, or in a group/world-writable directory, is refused (defect 4)${root ? '' : ' [skipped: needs root to chown]'}`, (t) => {
  const dir = stateDir();
  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  for (const f of readdirSync(dir)) if (f.endsWith('.json')) chownSync(join(dir, f), 65534, 65534);
  t.throws(() => readRecord(dir, 'secmarkc', 'current'), { instanceOf: StateError, message: /owned by uid 65534/ });
  for (const f of readdirSync(dir)) if (f.endsWith('.json')) chownSync(join(dir, f), 0, 0);
  t.truthy(readRecord(dir, 'secmarkc', 'current'));
  chmodSync(dir, 0o777);
  t.throws(() => readRecord(dir, 'secmarkc', 'current'), { instanceOf: StateError, message: /writable by others/ });
  chmodSync(dir, 0o700);
  t.truthy(readRecord(dir, 'secmarkc', 'current'));
});

test('history is never appended through a symlink (defect 4)', (t) => {
  const dir = stateDir();
  const victim = join(stateDir(), 'victim');
  writeFileSync(victim, 'precious\n');
  symlinkSync(victim, join(dir, 'secmarkc.history'));
  t.throws(() => appendHistory(dir, 'secmarkc', 'apply', {}));
  t.is(readFileSync(victim, 'utf8'), 'precious\n');
});

test('temporaries left by a killed writer are swept by the next one; only ours (defect 5)', (t) => {
  const dir = stateDir();
  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  const ours = ['secmarkc.applied.json.0123456789ab.tmp', 'secmarkc.state.json.0123456789ab.tmp', 'secmarkc.record.7.json.ba9876543210.tmp'];
  const theirs = ['other.applied.json.0123456789ab.tmp', 'notes.tmp', 'secmarkc.applied.json.tmp'];
  for (const f of [...ours, ...theirs]) writeFileSync(join(dir, f), 'x');
  recordApplied(dir, recordOf(P2));
  const left = readdirSync(dir);
  for (const f of ours) t.false(left.includes(f), `${f} swept`);
  for (const f of theirs) t.true(left.includes(f), `${f} left alone`);
});

test('a history line is fsynced, as the records are (and the directory when the history is new)', (t) => {
  const dir = stateDir();
  const synced: string[] = [];
  const original = fs.fsyncSync;
  fs.fsyncSync = (fd: number) => {
    synced.push(readlinkSync(`/proc/self/fd/${fd}`));
    original(fd);
  };
  syncBuiltinESMExports();
  try {
    appendHistory(dir, 'secmarkc', 'apply', { n: 1 });
    appendHistory(dir, 'secmarkc', 'apply', { n: 2 });
  } finally {
    fs.fsyncSync = original;
    syncBuiltinESMExports();
  }
  const history = join(dir, 'secmarkc.history');
  t.deepEqual(synced, [history, dir, history]);
  t.is(readFileSync(history, 'utf8').split('\n').length, 3);
});

test('copies of damaged records are bounded: the newest 3 are kept, nobody else\'s files are touched', (t) => {
  const dir = stateDir();
  const theirs = ['other.record.1.json.damaged', 'secmarkc.notes.damaged', 'secmarkc.record.x.json.damaged'];
  for (const f of theirs) writeFileSync(join(dir, f), 'x');
  const policies = [EXAMPLE_TEXT, P2, P3];
  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  for (let round = 1; round <= 6; round++) {
    const current = recordFile(dir, 'secmarkc', 'current')!;
    writeFileSync(current, readFileSync(current).subarray(0, 3000));
    recordApplied(dir, recordOf(policies[round % 3]!));
  }
  const damaged = readdirSync(dir).filter((f) => /^secmarkc\.record\.\d+\.json\.damaged$/.test(f)).sort();
  // Records 1..6 were damaged in turn (record 7 is current): 4, 5 and 6 are kept.
  t.deepEqual(damaged, ['secmarkc.record.4.json.damaged', 'secmarkc.record.5.json.damaged', 'secmarkc.record.6.json.damaged']);
  for (const f of theirs) t.true(readdirSync(dir).includes(f), `${f} left alone`);
});
