// Map elements as status compares them (src/apply/element-set.ts): located in place in the
// kernel's dump and in our batches exactly as the full decoder decodes them, and drift computed
// over them (src/apply/drift.ts) equal, entry for entry and in the same order, to drift computed
// the way it was before: every element decoded to an object and described as a line of text.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { ElementSet } from '../src/apply/element-set.js';
import { compareTables, expectedTable, sameTable, type Drift } from '../src/apply/drift.js';
import type { MapElement, ObjectMap, Ruleset } from '../src/compile/ir.js';
import { isSetElemMessage } from '../src/netlink/decode/message.js';
import { readReplies } from '../src/netlink/decode/replies.js';
import { encodeRuleset } from '../src/netlink/encode-ruleset.js';
import type { NftSet } from '../src/netlink/nft/set.js';
import { startNftMessage } from '../src/netlink/nft/batch.js';
import { NFT_MSG_NEWSETELEM } from '../src/netlink/nft/constants.js';
import { decodeSetElemList, decodeSetElemListHeader, encodeSetElemList, scanSetElems, type NftSetElem } from '../src/netlink/nft/set-elem.js';
import { NFPROTO_INET } from '../src/netlink/wire/constants.js';
import { NetlinkWriter } from '../src/netlink/wire/writer.js';
import { parseMessages, type NetlinkMessage } from '../src/netlink/wire/message.js';
import { DUMP_IR } from './netlink/golden-cases.js';
import { parseDumpFixture, WIRE_FIXTURES } from './netlink/helpers/golden.js';
import { bigMap, chain, counter, element, exactMap, map, rule, ruleset, st } from './netlink/helpers/ir.js';

const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex') : '');

/** NEWSETELEM messages the kernel sent for `nft list ruleset` (test/fixtures/wire/dump.txt), and ours for the same IR. */
function kernelSetElemMessages(): NetlinkMessage[] {
  const recv = parseDumpFixture(readFileSync(join(WIRE_FIXTURES, 'dump.txt'), 'utf8')).filter((d) => d.direction === 'recv');
  return recv.flatMap((d) => parseMessages(d.bytes)).filter(isSetElemMessage);
}

function batchSetElemMessages(rs: Ruleset): NetlinkMessage[] {
  return parseMessages(encodeRuleset(rs, { mode: 'replace' }).bytes).filter(isSetElemMessage);
}

/** bigMap's elements with one port each, in an exact (hash) map. */
function exactBigMap(name: string, family: 'ipv4' | 'ipv6', n: number, objects: readonly string[]): ObjectMap {
  const m = bigMap(name, family, n, objects);
  const single = (e: MapElement, i: number): MapElement => ({ ...e, parts: [e.parts[0]!, e.parts[1]!, { kind: 'port', from: 1000 + (i % 7), to: 1000 + (i % 7) }] });
  return { ...m, interval: false, elements: m.elements.map(single) };
}

const BIG = ruleset({
  objects: [counter('a'), counter('b'), counter('c')],
  maps: [bigMap('v4', 'ipv4', 3000, ['a', 'b', 'c']), exactBigMap('v6', 'ipv6', 2000, ['c', 'a'])],
});

test('scanSetElems locates in place what decodeSetElemList decodes: the kernel\'s dump and our batches', (t) => {
  const messages = [...kernelSetElemMessages(), ...batchSetElemMessages(DUMP_IR), ...batchSetElemMessages(BIG)];
  t.true(messages.length > 4);
  let elements = 0;
  for (const m of messages) {
    const decoded = decodeSetElemList(m);
    const header = decodeSetElemListHeader(m);
    t.like(header, { family: decoded.family, table: decoded.table, set: decoded.set });
    const located: string[] = [];
    scanSetElems(m.buf, header.elementsStart, header.elementsEnd, (e) => {
      const bytes = (start: number, end: number) => (start < 0 ? undefined : e.buf.subarray(start, end));
      located.push(`${hex(bytes(e.keyStart, e.keyEnd))}-${hex(bytes(e.keyEndStart, e.keyEndEnd))}:${Buffer.from(bytes(e.objrefStart, e.objrefEnd) ?? []).toString()}:${e.hasData}`);
    });
    t.deepEqual(located, decoded.elements.map((e) => `${hex(e.key)}-${hex(e.keyEnd)}:${e.objref ?? ''}:${e.data !== undefined}`));
    elements += located.length;
  }
  t.is(elements, 4 + 4 + 5000, 'the fixture\'s four elements as the kernel dumped them and as we encode them, and BIG');
});

test('an ElementSet of the kernel\'s dump holds each element once, with its key as text and its object', (t) => {
  const sets = new Map<string, ElementSet>();
  for (const m of kernelSetElemMessages()) {
    const header = decodeSetElemListHeader(m);
    if (!sets.has(header.set)) sets.set(header.set, new ElementSet());
    sets.get(header.set)!.addMessage(m, header);
  }
  const listed = (s: ElementSet) => Array.from({ length: s.size }, (_, i) => `${s.keyText(i)} : ${s.value(i)}`).sort();
  t.deepEqual(listed(sets.get('connect4')!), ['192.0.2.0/24 . udp . 1000-2000 : browser_client', '192.0.2.10 . tcp . 3128 : browser_client']);
  t.deepEqual(listed(sets.get('connect6')!), ['2001:db8:1::/48 . udp . 53 : ndp', '2001:db8::10 . tcp . 3128 : browser_client']);
});

test('an ElementSet gives what drift showed for other maps\' elements: data as JSON, `undefined` for neither object nor data', (t) => {
  const w = new NetlinkWriter(1024);
  const start = startNftMessage(w, NFT_MSG_NEWSETELEM, 0, 1, NFPROTO_INET);
  const key = (n: number) => Uint8Array.of(0, 0, 0, n);
  const elements: NftSetElem[] = [
    { key: key(1), data: { verdict: -1 } },
    { key: key(2), data: { verdict: -3, chain: 'other' } },
    { key: key(3), data: { value: Uint8Array.of(0xab, 0xcd) } },
    { key: key(4) },
    { key: key(5), objref: 'named', data: { verdict: 1 } },
    { key: key(6), keyEnd: key(6), objref: 'same key end' },
    { key: key(7), keyEnd: key(9), objref: 'range' },
    { key: key(1), objref: 'again: the first one, now with this value' },
  ];
  encodeSetElemList(w, { family: NFPROTO_INET, table: 't', set: 's', elements });
  w.messageEnd(start);
  const set = new ElementSet();
  set.addMessage(parseMessages(w.bytes())[0]!);
  t.is(set.size, 7);
  t.deepEqual(
    Array.from({ length: set.size }, (_, i) => `${set.keyText(i)} : ${set.value(i)}`),
    [
      '00000001-00000001 : again: the first one, now with this value',
      '00000002-00000002 : {"verdict":-3,"chain":"other"}',
      '00000003-00000003 : {"value":"abcd"}',
      '00000004-00000004 : undefined',
      '00000005-00000005 : named',
      '00000006-00000006 : same key end',
      '00000007-00000009 : range',
    ],
  );
  // As drift described them: the same text for each element, the later value for a repeated key.
  const described = new Map(elements.map((e) => [`${hex(e.key)}-${hex(e.keyEnd ?? e.key)}`, `${e.objref ?? json(e.data)}`]));
  t.deepEqual(Array.from({ length: set.size }, (_, i) => `${set.keyText(i)} : ${set.value(i)}`), [...described].map(([k, v]) => `${k} : ${v}`));
});

// ---------------------------------------------------------------- drift, against how it was computed before

/** The live table as it was read before ElementSet: every element decoded to an object. */
interface ObjectTable {
  readonly name: string;
  readonly rest: ReturnType<typeof expectedTable>;
  readonly sets: readonly { readonly set: NftSet; readonly elements: readonly NftSetElem[] }[];
}

function objectTable(rs: Ruleset): ObjectTable {
  const sets = new Map<string, { set: NftSet; elements: NftSetElem[] }>();
  for (const m of readReplies([encodeRuleset(rs, { mode: 'replace' }).bytes])) {
    if (m.kind === 'set') sets.set(m.set.name, { set: m.set, elements: [] });
    else if (m.kind === 'setelem') sets.get(m.elements.set)?.elements.push(...m.elements.elements);
  }
  return { name: rs.table, rest: expectedTable(rs), sets: [...sets.values()] };
}

const IGNORED = new Set(['handle', 'use', 'setId', 'id', 'position', 'bytes', 'packets', 'userdata']);
function json(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    if (IGNORED.has(key)) return undefined;
    const raw = this[key];
    if (raw instanceof Uint8Array) return hex(raw);
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
}

function elementKeyText(e: NftSetElem): string {
  const start = e.key;
  const end = e.keyEnd ?? e.key;
  if (!start || !end || (start.length !== 8 && start.length !== 12 && start.length !== 24)) return `${hex(start)}-${hex(end)}`;
  const addrLen = start.length - 8;
  const addr = (b: Uint8Array): string =>
    addrLen === 4 ? Array.from(b.subarray(0, 4)).join('.') : (ipaddr.fromByteArray(Array.from(b.subarray(0, 16))) as ipaddr.IPv6).toRFC5952String();
  const port = (b: Uint8Array): number => (b[addrLen + 4]! << 8) | b[addrLen + 5]!;
  const range = (a: string | number, b: string | number): string => (a === b ? String(a) : `${a}-${b}`);
  const protoPort = `${PROTOCOLS[start[addrLen]!] ?? start[addrLen]} . ${range(port(start), port(end))}`;
  if (addrLen === 0) return protoPort;
  const length = prefixLength(start.subarray(0, addrLen), end.subarray(0, addrLen));
  const addrs = length === addrLen * 8 ? addr(start) : length !== undefined ? `${addr(start)}/${length}` : `${addr(start)}-${addr(end)}`;
  return `${addrs} . ${protoPort}`;
}

const PROTOCOLS: Record<number, string> = { 6: 'tcp', 17: 'udp' };

/** L if start and end agree on their first L bits, then start has only 0 bits and end only 1 bits. */
function prefixLength(start: Uint8Array, end: Uint8Array): number | undefined {
  const bits = (b: Uint8Array): string => Array.from(b, (x) => x.toString(2).padStart(8, '0')).join('');
  const [s, e] = [bits(start), bits(end)];
  let l = 0;
  while (l < s.length && s[l] === e[l]) l++;
  return /^0*$/.test(s.slice(l)) && /^1*$/.test(e.slice(l)) ? l : undefined;
}

/** drift.ts's describeTable and compareMaps as they were, over decoded elements. */
function referenceDrift(expected: ObjectTable, live: ObjectTable): Drift[] {
  const describe = (t: ObjectTable): Map<string, string> => {
    const entries = new Map<string, string>();
    for (const o of t.rest.objects) entries.set(`object ${o.name}`, o.data.kind === 'secmark' ? `secmark "${o.data.context}"` : o.data.kind);
    for (const { set, elements } of t.sets) {
      entries.set(`map ${set.name}`, json({ flags: set.flags, keyType: set.keyType, keyLen: set.keyLen, objType: set.objType }));
      for (const e of elements) entries.set(`map ${set.name} element ${elementKeyText(e)}`, `"${e.objref ?? json(e.data)}"`);
    }
    for (const c of t.rest.chains) entries.set(`chain ${c.name}`, json({ type: c.type, hook: c.hook, policy: c.policy }));
    const perChain = new Map<string, number>();
    for (const r of t.rest.rules) {
      const index = perChain.get(r.chain) ?? 0;
      perChain.set(r.chain, index + 1);
      entries.set(`chain ${r.chain} rule ${index + 1}${r.comment ? ` (${r.comment})` : ''}`, json(r.expressions));
    }
    return entries;
  };
  const e = describe(expected);
  const l = describe(live);
  const out: Drift[] = [];
  for (const [what, value] of e) {
    const actual = l.get(what);
    if (actual === undefined) out.push({ kind: 'missing', what });
    else if (actual !== value) out.push({ kind: 'different', what: `${what}: expected ${value}, found ${actual}` });
  }
  for (const what of l.keys()) if (!e.has(what)) out.push({ kind: 'extra', what });
  return out;
}

const OBJECTS = ['app0', 'app1', 'app2'];
const BASE = ruleset({
  objects: OBJECTS.map((o) => counter(o)),
  maps: [
    exactMap('c4_exact', 'ipv4', 'counter', [
      element('192.0.2.1 . tcp . 80', 'app0'),
      element('192.0.2.2 . tcp . 443', 'app1'),
      element('192.0.2.3 . udp . 53', 'app2'),
      element('198.51.100.7 . tcp . 22', 'app0'),
    ]),
    map('c4', 'ipv4', 'counter', [element('192.0.2.0/24 . udp . 1000-1999', 'app1'), element('203.0.113.0/28 . tcp . 8080', 'app2')]),
    map('c6', 'ipv6', 'counter', [element('2001:db8::/64 . tcp . 443', 'app0'), element('2001:db8:1::10 . udp . 53', 'app2')]),
  ],
  chains: [chain('output', 'output', 225, [rule([st.ctState('new'), st.objrefMap('counter', 'c4_exact', 'daddr', 'ipv4')], 'label')])],
});

/** Keys to add: some new, some equal to a base element's key (a duplicate, with another object). */
const EXTRA_KEYS: Record<string, string[]> = {
  c4_exact: ['192.0.2.9 . tcp . 80', '192.0.2.1 . tcp . 80', '203.0.113.5 . udp . 123'],
  c4: ['198.51.100.0/25 . tcp . 1-1023', '192.0.2.0/24 . udp . 1000-1999'],
  c6: ['2001:db8:2::/48 . udp . 500-600', '2001:db8::/64 . tcp . 443'],
};

type Edit = { map: number; kind: 'drop' | 'object'; index: number; object: number } | { map: number; kind: 'add'; index: number; object: number } | { map: number; kind: 'remove-map' };

function edited(base: Ruleset, edits: readonly Edit[]): Ruleset {
  const maps: (ObjectMap | undefined)[] = base.maps.map((m) => ({ ...m, elements: [...m.elements] }));
  for (const e of edits) {
    const m = maps[e.map % maps.length];
    if (!m) continue;
    const elements = m.elements as MapElement[];
    if (e.kind === 'remove-map') maps[e.map % maps.length] = undefined;
    else if (e.kind === 'add') elements.push(element(EXTRA_KEYS[m.name]![e.index % EXTRA_KEYS[m.name]!.length]!, OBJECTS[e.object % OBJECTS.length]!));
    else if (elements.length === 0) continue;
    else if (e.kind === 'drop') elements.splice(e.index % elements.length, 1);
    else elements[e.index % elements.length] = { ...elements[e.index % elements.length]!, object: OBJECTS[e.object % OBJECTS.length]! };
  }
  return { ...base, maps: maps.filter((m): m is ObjectMap => m !== undefined) };
}

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ map: fc.nat(), kind: fc.constantFrom('drop' as const, 'object' as const, 'add' as const), index: fc.nat(), object: fc.nat() }),
  fc.record({ map: fc.nat(), kind: fc.constant('remove-map' as const) }),
);

test('drift over ElementSets equals drift over decoded elements, entry for entry and in order, whatever was edited on either side', (t) => {
  let drifted = 0;
  fc.assert(
    fc.property(fc.array(edit, { maxLength: 6 }), fc.array(edit, { maxLength: 6 }), (expectedEdits, liveEdits) => {
      const expected = edited(BASE, expectedEdits);
      const live = edited(BASE, liveEdits);
      const ours = compareTables(expectedTable(expected), expectedTable(live));
      const theirs = referenceDrift(objectTable(expected), objectTable(live));
      if (ours.length > 0) drifted++;
      t.deepEqual(ours, theirs);
      // sameTable stops at the first difference; it must agree.
      t.is(sameTable(expected, expectedTable(live)), theirs.length === 0);
      return true;
    }),
    { numRuns: 200 },
  );
  t.true(drifted > 60, `only ${drifted} of 200 runs had drift`);
});

test('drift at size: one element missing, one with another object, one extra, named among 5,000', (t) => {
  const expected = ruleset({ objects: [counter('a'), counter('b')], maps: [exactBigMap('big', 'ipv4', 5000, ['a', 'b'])] });
  const elements = [...expected.maps[0]!.elements];
  elements.splice(1234, 1);
  elements[3999] = { ...elements[3999]!, object: 'b' }; // element 4000 of the expected ones: 'a'
  elements.push(element('203.0.113.1 . udp . 9', 'a'));
  const live = { ...expected, maps: [{ ...expected.maps[0]!, elements }] };
  const drift = compareTables(expectedTable(expected), expectedTable(live));
  t.deepEqual(drift, [
    { kind: 'missing', what: 'map big element 10.0.4.210 . tcp . 1002' },
    { kind: 'different', what: 'map big element 10.0.15.160 . tcp . 1003: expected "a", found "b"' },
    { kind: 'extra', what: 'map big element 203.0.113.1 . udp . 9' },
  ]);
  t.deepEqual(drift, referenceDrift(objectTable(expected), objectTable(live)));
});
