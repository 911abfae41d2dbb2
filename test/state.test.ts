// The applied-policy records (src/records/state.ts): rotation, round trips of the compiled form,
// the index and its pending load, records adopted from before the index, and clear errors for
// missing or damaged files. (Crashes, forgeries and symlinks: test/state-faults.test.ts.)

import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy } from '../src/compile/compile.js';
import { encodeRuleset } from '../src/netlink/encode-ruleset.js';
import {
  abandonLoad,
  beginLoad,
  commitLoad,
  makeRecord,
  openRecords,
  readEntry,
  readEntryRows,
  readIndex,
  readIntent,
  readRecord,
  recordApplied,
  recordFile,
  recordRollback,
  stageRecord,
  StateError,
  statePaths,
  type RecordMap,
} from '../src/records/state.js';
import { compareTables, expectedTable } from '../src/apply/drift.js';
import { RowError } from '../src/records/element-rows.js';
import { withCounterObjects } from '../src/compile/substitute.js';
import { ROOT } from './helpers/cli.js';
import { compiled, EXAMPLE_TEXT, recordOf } from './helpers/fixtures.js';
import { intentInputs, rebuildFromIntent } from '../src/apply/intent.js';
import { parsePortTableJson } from '../src/port-labels/port-table-json.js';

const OTHER = EXAMPLE_TEXT.replace('tcp/3128', 'tcp/8080');

const stateDir = () => mkdtempSync(join(tmpdir(), 'secmarkc-state-'));

test('a record reads back to the same compiled policy: the batch encodes to the same bytes', (t) => {
  const dir = stateDir();
  const original = compiled(EXAMPLE_TEXT);
  recordApplied(dir, makeRecord(original, { path: 'p.yaml', text: EXAMPLE_TEXT }));
  const back = readRecord(dir, 'secmarkc', 'current');
  if (!back) return t.fail('no record');
  t.deepEqual(Buffer.from(encodeRuleset(back.ruleset, { mode: 'replace', seqStart: 0 }).bytes), Buffer.from(encodeRuleset(original.ruleset, { mode: 'replace', seqStart: 0 }).bytes));
  t.deepEqual(back.module, JSON.parse(JSON.stringify(original.module)));
  t.regex(back.cil, /\(allow mozilla_t secmarkc_browser_client_packet_t \(packet \(send recv\)\)\)/);
});

test('a record read with its elements as rows compares with the kernel as the decoded record does', (t) => {
  const dir = stateDir();
  const policy = `${EXAMPLE_TEXT}\n${generatedApps(3000)}`;
  recordApplied(dir, recordOf(policy));
  const index = readIndex(dir, 'secmarkc');
  const rows = readEntryRows(dir, 'secmarkc', index.current!);
  const decoded = readEntry(dir, 'secmarkc', index.current!);
  t.true(rows.ruleset.maps.length >= 2 && rows.ruleset.maps.every((m) => 'rows' in m), 'every map as rows');
  const fromRows = expectedTable(withCounterObjects(rows.ruleset));
  const fromElements = expectedTable(withCounterObjects(decoded.ruleset));
  t.deepEqual(compareTables(fromElements, fromRows), []);
  t.deepEqual(fromRows.sets.map((s) => [s.set.name, s.elements.size]), decoded.ruleset.maps.map((m) => [m.name, m.elements.length]));
  t.true(fromRows.sets.some((s) => s.elements.size >= 3000));
  // A row it cannot read is a RowError, for the caller to name the record (matchLive: unreadable).
  const [first] = rows.ruleset.maps as Extract<RecordMap, { rows: unknown }>[];
  const broken = { ...rows.ruleset, maps: [{ ...first!, rows: { ...first!.rows, keys: first!.rows.keys.replace(/^a[0-9a-f]+/, 'azz') } }] };
  t.throws(() => expectedTable(broken), { instanceOf: RowError, message: /row 1: "azz/ });
});

/** Apps with `n` distinct IPv4 connect entries, as YAML under `apps:` (appended to the example). */
function generatedApps(n: number): string {
  const to = Array.from({ length: n / 10 }, (_, i) => `10.${i >> 8}.${i & 255}.1`);
  return `  filler:\n    domain: filler_t\n    connect:\n      - to: [${to.join(', ')}]\n        ports: [${Array.from({ length: 10 }, (_, i) => `tcp/${2000 + i}`).join(', ')}]\n`;
}

test('a different policy moves the current record to previous; the same policy again does not', (t) => {
  const dir = stateDir();
  t.false(recordApplied(dir, recordOf(EXAMPLE_TEXT)).rotated);
  t.is(readRecord(dir, 'secmarkc', 'previous'), undefined);
  t.true(recordApplied(dir, recordOf(OTHER)).rotated);
  t.is(readRecord(dir, 'secmarkc', 'previous')?.digest, recordOf(EXAMPLE_TEXT).digest);
  t.false(recordApplied(dir, recordOf(OTHER)).rotated, 're-applying the current policy');
  t.is(readRecord(dir, 'secmarkc', 'previous')?.digest, recordOf(EXAMPLE_TEXT).digest, 'previous still the policy before');
  t.is(readRecord(dir, 'secmarkc', 'current')?.digest, recordOf(OTHER).digest);
});

test('the digest ignores where the policy came from, not what it loads', (t) => {
  const a = compiled(EXAMPLE_TEXT);
  const moved = compilePolicy(`# moved\n${EXAMPLE_TEXT}`, '/elsewhere/policy.yaml');
  if (!moved.ok) return t.fail();
  t.is(makeRecord(moved.compiled, { path: 'x', text: 'x' }).digest, makeRecord(a, { path: 'y', text: 'y' }).digest);
  t.not(recordOf(OTHER).digest, recordOf(EXAMPLE_TEXT).digest);
});

test('rollback swaps the records and marks the restored one', (t) => {
  const dir = stateDir();
  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  recordApplied(dir, recordOf(OTHER));
  const files = [recordFile(dir, 'secmarkc', 'current'), recordFile(dir, 'secmarkc', 'previous')];
  recordRollback(dir, 'secmarkc');
  t.is(readRecord(dir, 'secmarkc', 'current')?.digest, recordOf(EXAMPLE_TEXT).digest);
  t.is(readRecord(dir, 'secmarkc', 'current')?.via, 'rollback');
  t.is(readRecord(dir, 'secmarkc', 'previous')?.digest, recordOf(OTHER).digest);
  t.deepEqual([recordFile(dir, 'secmarkc', 'previous'), recordFile(dir, 'secmarkc', 'current')], files, 'the files are swapped by the index, not rewritten');
});

test('writes are atomic: no temporary files are left, files are private; files no longer named are removed', (t) => {
  const dir = stateDir();
  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  recordApplied(dir, recordOf(OTHER));
  t.deepEqual(readdirSync(dir).sort(), ['secmarkc.record.1.json', 'secmarkc.record.2.json', 'secmarkc.state.json']);
  t.is(statSync(recordFile(dir, 'secmarkc', 'current')!).mode & 0o777, 0o600);
  t.is(statSync(statePaths(dir, 'secmarkc').index).mode & 0o777, 0o600);
  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  t.deepEqual(readdirSync(dir).sort(), ['secmarkc.record.2.json', 'secmarkc.record.3.json', 'secmarkc.state.json']);
});

test('a pending load is in the index before anything is sent; commit names the staged file, abandon removes it', (t) => {
  const dir = stateDir();
  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  const before = readFileSync(recordFile(dir, 'secmarkc', 'current')!);

  const refused = beginLoad(dir, openRecords(dir, 'secmarkc').index, 'apply', { kind: 'new-record', lsm: false });
  t.like(readIndex(dir, 'secmarkc').pending, { command: 'apply', pid: process.pid, load: { kind: 'record', file: 'secmarkc.record.2.json', lsm: false } });
  const staged = stageRecord(dir, refused, recordOf(OTHER));
  t.true(readdirSync(dir).includes(staged.file));
  t.deepEqual(readFileSync(recordFile(dir, 'secmarkc', 'current')!), before, 'staging leaves the current record alone');
  abandonLoad(dir, refused);
  t.deepEqual(readdirSync(dir).sort(), ['secmarkc.record.1.json', 'secmarkc.state.json']);
  t.is(readIndex(dir, 'secmarkc').pending, null);
  t.is(readRecord(dir, 'secmarkc', 'previous'), undefined);

  const begun = beginLoad(dir, readIndex(dir, 'secmarkc'), 'apply', { kind: 'new-record', lsm: true });
  const second = stageRecord(dir, begun, recordOf(OTHER));
  const written = readFileSync(join(dir, second.file));
  t.true(commitLoad(dir, begun, second).rotated);
  t.deepEqual(readFileSync(recordFile(dir, 'secmarkc', 'current')!), written);
  t.deepEqual(readFileSync(recordFile(dir, 'secmarkc', 'previous')!), before);
  t.is(readRecord(dir, 'secmarkc', 'current')?.digest, recordOf(OTHER).digest);
  t.like(readIndex(dir, 'secmarkc'), { live: 'current', pending: null });

  const lockdown = commitLoad(dir, beginLoad(dir, readIndex(dir, 'secmarkc'), 'lockdown', { kind: 'lockdown' })).index;
  t.like(lockdown, { live: 'lockdown', current: { digest: recordOf(OTHER).digest } }, 'a lockdown keeps the last good record');
  t.like(commitLoad(dir, beginLoad(dir, lockdown, 'remove', { kind: 'none' })).index, { live: 'none' });
});

test("an apply's intent keeps its policy text and port labels: compiled again, it is the record the apply would have written", (t) => {
  const dir = stateDir();
  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  const fixture = join(ROOT, 'test/fixtures/valid/ports-policy');
  const text = readFileSync(join(fixture, 'policy.yaml'), 'utf8');
  const portTable = parsePortTableJson(readFileSync(join(fixture, 'ports.json'), 'utf8'), 'ports.json');
  const r = compilePolicy(text, 'policy.yaml', { portTable });
  if (!r.ok) return t.fail('fixture does not compile');
  const source = { path: '/etc/secmarkc/ports.yaml', text };
  const begun = beginLoad(dir, readIndex(dir, 'secmarkc'), 'apply', { kind: 'new-record', lsm: true, source, inputs: intentInputs('policy.yaml', portTable) });
  t.like(begun.pending?.load, { kind: 'record', file: 'secmarkc.record.2.json', intent: { file: 'secmarkc.intent.2.json' } });
  t.deepEqual(readdirSync(dir).sort(), ['secmarkc.intent.2.json', 'secmarkc.record.1.json', 'secmarkc.state.json'], 'written before the index names it, never a temporary left');
  t.is(readIntent(dir, 'secmarkc', begun.pending!.load)?.text, text);

  const rebuilt = rebuildFromIntent(dir, 'secmarkc', begun.pending!);
  if (!('record' in rebuilt)) return t.fail(rebuilt.why);
  t.is(rebuilt.record.digest, makeRecord(r.compiled, source).digest, 'the same compiled policy, port labels included');
  t.is(rebuilt.record.appliedAt, begun.pending!.since);
  t.deepEqual(encodeRuleset(rebuilt.record.ruleset, { mode: 'replace' }).bytes, encodeRuleset(r.compiled.ruleset, { mode: 'replace' }).bytes);

  commitLoad(dir, begun, stageRecord(dir, begun, rebuilt.record));
  t.deepEqual(readdirSync(dir).sort(), ['secmarkc.record.1.json', 'secmarkc.record.2.json', 'secmarkc.state.json'], 'the commit removes the intent');
  const again = beginLoad(dir, readIndex(dir, 'secmarkc'), 'apply', { kind: 'new-record', lsm: true, source, inputs: intentInputs('policy.yaml', portTable) });
  abandonLoad(dir, again);
  t.false(readdirSync(dir).some((f) => f.includes('intent')), 'so does abandoning the load');
});

test('an intent that changed, or was written by another version, is not compiled again', (t) => {
  const dir = stateDir();
  const source = { path: '/etc/secmarkc/policy.yaml', text: EXAMPLE_TEXT };
  const begun = beginLoad(dir, readIndex(dir, 'secmarkc'), 'apply', { kind: 'new-record', lsm: true, source, inputs: intentInputs('policy.yaml', undefined) });
  const file = join(dir, 'secmarkc.intent.1.json');
  const bytes = readFileSync(file);
  writeFileSync(file, bytes.subarray(0, bytes.length - 40));
  t.throws(() => rebuildFromIntent(dir, 'secmarkc', begun.pending!), { instanceOf: StateError, message: /intent file .*secmarkc\.intent\.1\.json is corrupt \(its content changed since it was written/ });
  writeFileSync(file, bytes);
  t.true('record' in rebuildFromIntent(dir, 'secmarkc', begun.pending!));
  const other = beginLoad(dir, readIndex(dir, 'secmarkc'), 'apply', { kind: 'new-record', lsm: true, source, inputs: { ...intentInputs('policy.yaml', undefined), version: '0.0.1' } });
  const refused = rebuildFromIntent(dir, 'secmarkc', other.pending!);
  t.regex('why' in refused ? refused.why : 'compiled', /compiled by secmarkc 0\.0\.1, this is /);
  // Apps by program path were compiled with the SELinux policy and the host's files: not kept, not compiled again.
  const programs = readFileSync(join(ROOT, 'examples/curl-api.yaml'), 'utf8');
  const withPrograms = beginLoad(dir, readIndex(dir, 'secmarkc'), 'apply', { kind: 'new-record', lsm: true, source: { path: '/p.yaml', text: programs }, inputs: intentInputs('p.yaml', undefined) });
  const notKept = rebuildFromIntent(dir, 'secmarkc', withPrograms.pending!);
  t.regex('why' in notKept ? notKept.why : 'compiled', /apps by program path were compiled with the SELinux policy and the files of the moment/);
  const orphan = readdirSync(dir).filter((f) => f.includes('intent'));
  t.deepEqual(orphan.sort(), ['secmarkc.intent.1.json', 'secmarkc.intent.2.json', 'secmarkc.intent.3.json']);
  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  t.false(readdirSync(dir).some((f) => f.includes('intent')), 'intents no index names are removed by the next commit');
});

test('a missing record is undefined; damaged ones are refused with the path and what is wrong', (t) => {
  const dir = stateDir();
  t.is(readRecord(dir, 'secmarkc', 'current'), undefined);
  const index = statePaths(dir, 'secmarkc').index;
  writeFileSync(index, '{"format": 3, "table": "secm');
  t.throws(() => readRecord(dir, 'secmarkc', 'current'), { instanceOf: StateError, message: new RegExp(`^state file ${index} is corrupt \\(not JSON`) });
  rmSync(index);

  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  const path = recordFile(dir, 'secmarkc', 'current')!;
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.replace('3128', '3129'));
  t.throws(() => readRecord(dir, 'secmarkc', 'current'), { instanceOf: StateError, message: new RegExp(`^state file ${path} is corrupt \\(its content changed since it was written`) });

  // Records from before the index carry no file digest: their content digest and fields still guard them.
  const legacy = stateDir();
  const legacyPath = statePaths(legacy, 'secmarkc').legacyCurrent;
  writeFileSync(legacyPath, text.replace('3128', '3129')); // the first one is in the ruleset's map element
  t.throws(() => readRecord(legacy, 'secmarkc', 'current'), { instanceOf: StateError, message: /content does not match its digest/ });
  writeFileSync(legacyPath, text.replace(/"format": ?2/, '"format":7'));
  t.throws(() => readRecord(legacy, 'secmarkc', 'current'), { instanceOf: StateError, message: /format 7, expected 2/ });
  writeFileSync(statePaths(legacy, 'other').legacyCurrent, text);
  t.throws(() => readRecord(legacy, 'other', 'current'), { instanceOf: StateError, message: /it is for table "secmarkc", not other/ });
});

test('records written before the index are adopted: read as they are, rotated by the first commit, then removed', (t) => {
  const dir = stateDir();
  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  recordApplied(dir, recordOf(OTHER));
  const legacy = stateDir();
  writeFileSync(statePaths(legacy, 'secmarkc').legacyCurrent, readFileSync(recordFile(dir, 'secmarkc', 'current')!));
  writeFileSync(statePaths(legacy, 'secmarkc').legacyPrevious, readFileSync(recordFile(dir, 'secmarkc', 'previous')!));
  t.is(readRecord(legacy, 'secmarkc', 'current')?.digest, recordOf(OTHER).digest);
  t.is(readRecord(legacy, 'secmarkc', 'previous')?.digest, recordOf(EXAMPLE_TEXT).digest);
  const third = EXAMPLE_TEXT.replace('tcp/3128', 'tcp/8443');
  t.true(recordApplied(legacy, recordOf(third)).rotated);
  t.is(readRecord(legacy, 'secmarkc', 'previous')?.digest, recordOf(OTHER).digest);
  t.deepEqual(readdirSync(legacy).sort(), ['secmarkc.applied.json', 'secmarkc.record.1.json', 'secmarkc.state.json']);
  recordApplied(legacy, recordOf(EXAMPLE_TEXT));
  t.deepEqual(readdirSync(legacy).sort(), ['secmarkc.record.1.json', 'secmarkc.record.2.json', 'secmarkc.state.json']);
});

test('rotation leaves the current file as it was: previous is byte for byte the record before', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-state-'));
  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  const before = readFileSync(recordFile(dir, 'secmarkc', 'current')!, 'utf8');
  const other = recordOf(OTHER);
  t.true(recordApplied(dir, other).rotated);
  t.is(readFileSync(recordFile(dir, 'secmarkc', 'previous')!, 'utf8'), before);
  t.is(readRecord(dir, 'secmarkc', 'current')?.digest, other.digest);
  rmSync(dir, { recursive: true, force: true });
});

test('a format 1 record (written before exact maps, elements as JSON) reads back, its maps as interval maps', (t) => {
  const dir = stateDir();
  // Written by the format 1 code (commit ab932e0) for the example policy.
  const v1 = readFileSync(join(ROOT, 'test/fixtures/state/secmarkc.applied.format1.json'), 'utf8');
  writeFileSync(statePaths(dir, 'secmarkc').legacyCurrent, v1);
  const back = readRecord(dir, 'secmarkc', 'current');
  if (!back) return t.fail('no record');
  t.deepEqual(back.ruleset.maps.map((m) => [m.name, m.interval, m.elements.length]), [['connect4', true, 1], ['connect6', true, 1], ['serve4', true, 1], ['serve6', true, 1]]);
  t.is(back.digest, JSON.parse(v1).digest);
  // Still digest-checked: an edited element is refused.
  writeFileSync(statePaths(dir, 'secmarkc').legacyCurrent, v1.replace('"from":3128', '"from":3129'));
  t.throws(() => readRecord(dir, 'secmarkc', 'current'), { instanceOf: StateError, message: /does not match its digest/ });
});

test('map elements are stored as rows, not JSON objects, and read back equal', (t) => {
  const dir = stateDir();
  const apps = Array.from({ length: 100 }, (_, i) => `  - to: [192.0.2.${i}, 2001:db8::${i.toString(16)}, 198.51.${i}.0/24]\n    ports: [tcp/${1000 + i}, udp/${2000 + i}-${2010 + i}]`).join('\n');
  const text = `version: 1\nunlabeled: allow\napps:\n  big:\n    domain: big_t\n    connect:\n${apps.replace(/^/gm, '    ')}\n`;
  const original = compiled(text);
  t.true(original.ruleset.maps.reduce((n, m) => n + m.elements.length, 0) >= 500);
  recordApplied(dir, makeRecord(original, { path: 'big.yaml', text }));
  const file = readFileSync(recordFile(dir, 'secmarkc', 'current')!, 'utf8');
  t.notRegex(file, /"parts"/, 'no element is stored as JSON');
  const back = readRecord(dir, 'secmarkc', 'current');
  if (!back) return t.fail('no record');
  // Everything but an element's peer note, which rows do not keep (src/records/element-rows.ts).
  const withoutPeer = (key: string, value: unknown): unknown => (key === 'peer' ? undefined : hex(key, value));
  t.true(original.ruleset.maps.some((m) => m.elements.some((e) => e.peer !== undefined)));
  t.deepEqual(JSON.parse(JSON.stringify(back.ruleset, hex)), JSON.parse(JSON.stringify(original.ruleset, withoutPeer)));
});

test('a damaged element row is refused before anything is decoded', (t) => {
  const dir = stateDir();
  recordApplied(dir, recordOf(EXAMPLE_TEXT));
  const text = readFileSync(recordFile(dir, 'secmarkc', 'current')!, 'utf8');
  // As a record from before the index (no file digest), so that the content digest is what refuses it.
  const legacy = stateDir();
  writeFileSync(statePaths(legacy, 'secmarkc').legacyCurrent, text.replace(/"keys":"a[0-9a-f]+/, '"keys":"azz'));
  t.throws(() => readRecord(legacy, 'secmarkc', 'current'), { instanceOf: StateError, message: /secmarkc\.applied\.json is corrupt \(content does not match its digest/ });
});

/** JSON with Uint8Arrays as hex, to compare IRs. */
function hex(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value;
}
