// The applied-policy records (src/apply/state.ts): rotation, round trips of the compiled form,
// atomic replacement, and clear errors for missing or damaged files.

import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy } from '../src/compile/compile.js';
import type { CompiledPolicy } from '../src/compile/ir.js';
import { encodeRuleset } from '../src/netlink/encode-ruleset.js';
import { commitRecord, discardRecord, makeRecord, readRecord, recordApplied, recordRollback, stageRecord, StateError, statePaths } from '../src/apply/state.js';
import { ROOT } from './helpers/cli.js';

const EXAMPLE = readFileSync(join(ROOT, 'examples/browser-proxy.yaml'), 'utf8');
const OTHER = EXAMPLE.replace('tcp/3128', 'tcp/8080');

function compiled(text: string): CompiledPolicy {
  const r = compilePolicy(text, '/etc/secmarkc/policy.yaml');
  if (!r.ok) throw new Error('fixture does not compile');
  return r.compiled;
}

const stateDir = () => mkdtempSync(join(tmpdir(), 'secmarkc-state-'));
const record = (text: string) => makeRecord(compiled(text), { path: '/etc/secmarkc/policy.yaml', text });

test('a record reads back to the same compiled policy: the batch encodes to the same bytes', (t) => {
  const dir = stateDir();
  const original = compiled(EXAMPLE);
  recordApplied(dir, makeRecord(original, { path: 'p.yaml', text: EXAMPLE }));
  const back = readRecord(dir, 'secmarkc', 'current');
  if (!back) return t.fail('no record');
  t.deepEqual(Buffer.from(encodeRuleset(back.ruleset, { mode: 'replace', seqStart: 0 }).bytes), Buffer.from(encodeRuleset(original.ruleset, { mode: 'replace', seqStart: 0 }).bytes));
  t.deepEqual(back.module, JSON.parse(JSON.stringify(original.module)));
  t.regex(back.cil, /\(allow mozilla_t secmarkc_browser_client_packet_t \(packet \(send recv\)\)\)/);
});

test('a different policy moves the current record to previous; the same policy again does not', (t) => {
  const dir = stateDir();
  t.false(recordApplied(dir, record(EXAMPLE)).rotated);
  t.is(readRecord(dir, 'secmarkc', 'previous'), undefined);
  t.true(recordApplied(dir, record(OTHER)).rotated);
  t.is(readRecord(dir, 'secmarkc', 'previous')?.digest, record(EXAMPLE).digest);
  t.false(recordApplied(dir, record(OTHER)).rotated, 're-applying the current policy');
  t.is(readRecord(dir, 'secmarkc', 'previous')?.digest, record(EXAMPLE).digest, 'previous still the policy before');
  t.is(readRecord(dir, 'secmarkc', 'current')?.digest, record(OTHER).digest);
});

test('the digest ignores where the policy came from, not what it loads', (t) => {
  const a = compiled(EXAMPLE);
  const moved = compilePolicy(`# moved\n${EXAMPLE}`, '/elsewhere/policy.yaml');
  if (!moved.ok) return t.fail();
  t.is(makeRecord(moved.compiled, { path: 'x', text: 'x' }).digest, makeRecord(a, { path: 'y', text: 'y' }).digest);
  t.not(record(OTHER).digest, record(EXAMPLE).digest);
});

test('rollback swaps the records and marks the restored one', (t) => {
  const dir = stateDir();
  recordApplied(dir, record(EXAMPLE));
  recordApplied(dir, record(OTHER));
  const previous = readRecord(dir, 'secmarkc', 'previous')!;
  const current = readRecord(dir, 'secmarkc', 'current')!;
  recordRollback(dir, previous, current);
  t.is(readRecord(dir, 'secmarkc', 'current')?.digest, record(EXAMPLE).digest);
  t.is(readRecord(dir, 'secmarkc', 'current')?.via, 'rollback');
  t.is(readRecord(dir, 'secmarkc', 'previous')?.digest, record(OTHER).digest);
});

test('writes are atomic: no temporary files are left, files are private', (t) => {
  const dir = stateDir();
  recordApplied(dir, record(EXAMPLE));
  recordApplied(dir, record(OTHER));
  t.deepEqual(readdirSync(dir).sort(), ['secmarkc.applied.json', 'secmarkc.previous.json']);
  t.is(statSync(statePaths(dir, 'secmarkc').current).mode & 0o777, 0o600);
});

test('a staged record is written in full beside the current one; commit puts it in place, discard removes it', (t) => {
  const dir = stateDir();
  recordApplied(dir, record(EXAMPLE));
  const before = readFileSync(statePaths(dir, 'secmarkc').current);

  const refused = stageRecord(dir, record(OTHER));
  t.deepEqual(readdirSync(dir).sort(), ['secmarkc.applied.json', refused.temp.slice(dir.length + 1)].sort());
  t.deepEqual(readFileSync(statePaths(dir, 'secmarkc').current), before, 'staging leaves the current record alone');
  discardRecord(refused);
  t.deepEqual(readdirSync(dir), ['secmarkc.applied.json']);
  t.is(readRecord(dir, 'secmarkc', 'previous'), undefined);

  const staged = stageRecord(dir, record(OTHER));
  const written = readFileSync(staged.temp);
  t.true(commitRecord(staged).rotated);
  t.deepEqual(readdirSync(dir).sort(), ['secmarkc.applied.json', 'secmarkc.previous.json']);
  t.deepEqual(readFileSync(statePaths(dir, 'secmarkc').current), written);
  t.deepEqual(readFileSync(statePaths(dir, 'secmarkc').previous), before);
  t.is(readRecord(dir, 'secmarkc', 'current')?.digest, record(OTHER).digest);
});

test('a missing record is undefined; damaged ones are refused with the path and what is wrong', (t) => {
  const dir = stateDir();
  t.is(readRecord(dir, 'secmarkc', 'current'), undefined);
  const path = statePaths(dir, 'secmarkc').current;

  writeFileSync(path, '{"format": 1, "table": "secm');
  t.throws(() => readRecord(dir, 'secmarkc', 'current'), { instanceOf: StateError, message: new RegExp(`^state file ${path} is corrupt \\(not JSON`) });

  recordApplied(dir, record(EXAMPLE));
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.replace('3128', '3129')); // the first one is in the ruleset's map element
  t.throws(() => readRecord(dir, 'secmarkc', 'current'), { instanceOf: StateError, message: /content does not match its digest/ });

  writeFileSync(path, text.replace(/"format": ?2/, '"format":7'));
  t.throws(() => readRecord(dir, 'secmarkc', 'current'), { instanceOf: StateError, message: /format 7, expected 2/ });

  writeFileSync(statePaths(dir, 'other').current, text);
  t.throws(() => readRecord(dir, 'other', 'current'), { instanceOf: StateError, message: /it is for table "secmarkc", not other/ });
});

test('rotation renames the current file as it was: previous is byte for byte the record before', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-state-'));
  recordApplied(dir, record(EXAMPLE));
  const before = readFileSync(statePaths(dir, 'secmarkc').current, 'utf8');
  const other = record(OTHER);
  t.true(recordApplied(dir, other).rotated);
  t.is(readFileSync(statePaths(dir, 'secmarkc').previous, 'utf8'), before);
  t.is(readRecord(dir, 'secmarkc', 'current')?.digest, other.digest);
  rmSync(dir, { recursive: true, force: true });
});

test('a format 1 record (written before exact maps, elements as JSON) reads back, its maps as interval maps', (t) => {
  const dir = stateDir();
  // Written by the format 1 code (commit ab932e0) for the example policy.
  const v1 = readFileSync(join(ROOT, 'test/fixtures/state/secmarkc.applied.format1.json'), 'utf8');
  writeFileSync(statePaths(dir, 'secmarkc').current, v1);
  const back = readRecord(dir, 'secmarkc', 'current');
  if (!back) return t.fail('no record');
  t.deepEqual(back.ruleset.maps.map((m) => [m.name, m.interval, m.elements.length]), [['connect4', true, 1], ['connect6', true, 1], ['serve4', true, 1], ['serve6', true, 1]]);
  t.is(back.digest, JSON.parse(v1).digest);
  // Still digest-checked: an edited element is refused.
  writeFileSync(statePaths(dir, 'secmarkc').current, v1.replace('"from":3128', '"from":3129'));
  t.throws(() => readRecord(dir, 'secmarkc', 'current'), { instanceOf: StateError, message: /does not match its digest/ });
});

test('map elements are stored as rows, not JSON objects, and read back equal', (t) => {
  const dir = stateDir();
  const apps = Array.from({ length: 100 }, (_, i) => `  - to: [192.0.2.${i}, 2001:db8::${i.toString(16)}, 198.51.${i}.0/24]\n    ports: [tcp/${1000 + i}, udp/${2000 + i}-${2010 + i}]`).join('\n');
  const text = `version: 1\nunlabeled: allow\napps:\n  big:\n    domain: big_t\n    connect:\n${apps.replace(/^/gm, '    ')}\n`;
  const original = compiled(text);
  t.true(original.ruleset.maps.reduce((n, m) => n + m.elements.length, 0) >= 500);
  recordApplied(dir, makeRecord(original, { path: 'big.yaml', text }));
  const file = readFileSync(statePaths(dir, 'secmarkc').current, 'utf8');
  t.notRegex(file, /"parts"/, 'no element is stored as JSON');
  const back = readRecord(dir, 'secmarkc', 'current');
  if (!back) return t.fail('no record');
  t.deepEqual(JSON.parse(JSON.stringify(back.ruleset, hex)), JSON.parse(JSON.stringify(original.ruleset, hex)));
});

test('a damaged element row is refused before anything is decoded', (t) => {
  const dir = stateDir();
  recordApplied(dir, record(EXAMPLE));
  const path = statePaths(dir, 'secmarkc').current;
  writeFileSync(path, readFileSync(path, 'utf8').replace(/"keys":"a[0-9a-f]+/, '"keys":"azz'));
  t.throws(() => readRecord(dir, 'secmarkc', 'current'), { instanceOf: StateError, message: /secmarkc\.applied\.json is corrupt \(content does not match its digest/ });
});

/** JSON with Uint8Arrays as hex, to compare IRs. */
function hex(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value;
}
