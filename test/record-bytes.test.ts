// The record writer (src/records/state.ts, element-rows.ts) against the string-building writer it
// replaced (test/helpers/record-reference.ts): format 2 files are on disks, so the file bytes and
// the digest must stay exactly what they were, for every shape of map the compiler makes.

import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePolicy } from '../bench/generate.js';
import { makeRecord, readRecord, recordApplied, recordFile, recordRollback } from '../src/records/state.js';
import type { CompiledPolicy, ObjectMap } from '../src/compile/ir.js';
import { cases, compiled, EXAMPLE_TEXT, readPolicy, readPortTable } from './helpers/fixtures.js';
import { referenceDigest, referenceFile } from './helpers/record-reference.js';

/** Write the record the product's way and compare file and digest with the reference; then read it back. */
function sameAsReference(t: ExecutionContext, name: string, policy: CompiledPolicy, path = '/etc/secmarkc/policy.yaml'): void {
  const record = makeRecord(policy, { path, text: name });
  t.is(record.digest, referenceDigest(policy), `${name}: digest`);
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-record-'));
  try {
    recordApplied(dir, record);
    const file = readFileSync(recordFile(dir, record.table, 'current')!);
    const expected = referenceFile(record);
    const at = firstDifference(file, expected);
    t.true(at < 0, `${name}: file differs from the reference at byte ${at}: ${JSON.stringify(file.subarray(Math.max(0, at - 40), at + 40).toString())} vs ${JSON.stringify(expected.subarray(Math.max(0, at - 40), at + 40).toString())}`);
    // Read back through the unchanged reader, which checks the digest against the rows as text.
    t.is(readRecord(dir, record.table, 'current')?.digest, record.digest, `${name}: reads back`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

const mapsOf = (policy: CompiledPolicy) => policy.ruleset.maps;

test('the example and every valid fixture: same file and digest as the reference', (t) => {
  sameAsReference(t, 'examples/browser-proxy.yaml', compiled(EXAMPLE_TEXT));
  for (const { name, dir } of cases('valid')) sameAsReference(t, name, compiled(readPolicy(dir), 'policy.yaml', readPortTable(dir)));
});

test('exact and interval maps, IPv4 and IPv6, port ranges, spans over several lines', (t) => {
  const policy = compiled(`version: 1
unlabeled: audit
apps:
  web:
    domain: web_t
    connect:
      - to: [192.0.2.10, 192.0.2.11-192.0.2.11, "2001:db8::1", "2001:db8:ffff::1-2001:db8:ffff::9",
             198.51.100.0/24,
             "2001:db8:1::/48"]
        ports: [tcp/443, udp/53,
                tcp/8000-8010,
                sctp/9899, icmp]
      - ports: [udp/123]
  ssh:
    domain: sshd_t
    serve:
      - from:
          - 203.0.113.0/25
          - "2001:db8::/32"
        ports:
          - tcp/22
          - tcp/2222-2230
`);
  const maps = mapsOf(policy);
  t.true(maps.some((m) => m.interval) && maps.some((m) => !m.interval), 'both kinds of map');
  t.true(maps.some((m) => m.key.includes('ipv6_addr')) && maps.some((m) => m.key.includes('ipv4_addr')), 'both families');
  const lines = new Set(maps.flatMap((m) => m.elements.map((e) => e.span.line)));
  t.true(lines.size >= 4, `element spans on ${lines.size} lines`);
  sameAsReference(t, 'mixed', policy);
});

test('a generated policy of 10,000 entries: same file and digest as the reference', (t) => {
  const policy = compiled(generatePolicy(10_000), '/srv/bench/p10000.yaml');
  t.is(mapsOf(policy).reduce((n, m) => n + m.elements.length, 0) >= 10_000, true);
  sameAsReference(t, 'p10000', policy);
});

test('non-ASCII text around the rows, an empty map, one-field keys, long spans, and a map kept as JSON elements', (t) => {
  const base = compiled(EXAMPLE_TEXT, '/etc/sécmarkc/pölicy-✓.yaml');
  sameAsReference(t, 'non-ASCII file name', base, '/etc/sécmarkc/pölicy-✓.yaml');
  const [first, ...rest] = mapsOf(base) as [ObjectMap, ...ObjectMap[]];
  const empty: ObjectMap = { ...first, elements: [] };
  sameAsReference(t, 'empty map', { ...base, ruleset: { ...base.ruleset, maps: [empty, ...rest] } });
  // Keys of one field (the compiler makes none, the row format allows them).
  const short: ObjectMap = { ...first, key: first.key.slice(-1), elements: first.elements.map((e) => ({ ...e, parts: e.parts.slice(-1) })) };
  sameAsReference(t, 'short keys', { ...base, ruleset: { ...base.ruleset, maps: [short, ...rest] } });
  // Spans longer than the writer's estimate per row: its buffer grows.
  const many = compiled(generatePolicy(300));
  const far = mapsOf(many).map((m) => ({ ...m, elements: m.elements.map((e, i) => ({ ...e, span: { ...e.span, line: 1_000_000_000 + i, endLine: 2_000_000_000 + i } })) }));
  sameAsReference(t, 'far spans', { ...many, ruleset: { ...many.ruleset, maps: far } });
  // An element from another file than its map's: that map's elements stay JSON objects.
  const elsewhere: ObjectMap = { ...first, elements: first.elements.map((e, i) => (i === 0 ? { ...e, span: { ...e.span, file: 'other.yaml' } } : e)) };
  const asJson: CompiledPolicy = { ...base, ruleset: { ...base.ruleset, maps: [elsewhere, ...rest] } };
  t.regex(referenceFile(makeRecord(asJson, { path: 'p', text: 'p' })).toString(), /"elements":\[\{"parts"/);
  sameAsReference(t, 'elements as JSON', asJson);
});

test('a rollback leaves both files as the reference wrote them (the index swaps them)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-record-'));
  try {
    const a = makeRecord(compiled(generatePolicy(300)), { path: 'a.yaml', text: 'a' });
    const b = makeRecord(compiled(generatePolicy(301)), { path: 'b.yaml', text: 'b' });
    recordApplied(dir, a);
    recordApplied(dir, b);
    const now = recordRollback(dir, 'secmarkc_bench');
    t.is(now.via, 'rollback');
    t.deepEqual(readFileSync(recordFile(dir, 'secmarkc_bench', 'current')!), referenceFile(a));
    t.deepEqual(readFileSync(recordFile(dir, 'secmarkc_bench', 'previous')!), referenceFile(b));
    t.is(readRecord(dir, 'secmarkc_bench', 'previous')?.digest, b.digest);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
