// One error base class: every error secmarkc throws on purpose is a SecmarkcError with a code
// from the table (README "Diagnostics"), so the CLI prints each the same way (cli/report.ts).

import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SecmarkcError } from '../src/errors.js';
import { StateError } from '../src/records/state-dir.js';
import { LockError } from '../src/apply/lock.js';
import { DIAGNOSTIC_CODES } from '../src/policy/diagnostics.js';
import { describeError } from '../src/cli/report.js';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) yield* sources(join(dir, entry.name));
    else if (entry.name.endsWith('.ts')) yield join(dir, entry.name);
  }
}

test('no error class in src/ extends Error directly but SecmarkcError (and the YAML reader\'s internal signal)', (t) => {
  const direct: string[] = [];
  for (const file of sources(SRC)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/class (\w+) extends Error\b/g)) direct.push(`${relative(SRC, file)}: ${m[1]}`);
  }
  // Decline never leaves yaml-fast.ts: it tells the fast reader to hand the text to the full one.
  t.deepEqual(direct.sort(), ['errors.ts: SecmarkcError', 'policy/yaml-fast.ts: Decline']);
});

test('a subclass keeps its own code and name, and its message is printed without it', (t) => {
  const state = new StateError('cannot read the index');
  const lock = new LockError('held by pid 1');
  t.is(state.code, 'SMC120');
  t.is(lock.code, 'SMC121');
  t.true(lock instanceof SecmarkcError);
  t.is(lock.name, 'LockError');
  t.true(lock.code in DIAGNOSTIC_CODES);
  t.is(describeError(lock), 'held by pid 1');
});
