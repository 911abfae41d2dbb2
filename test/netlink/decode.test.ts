// The decoder against what the kernel really sends: a dump recorded from `nft list ruleset`
// (test/fixtures/wire/dump.txt, after loading dump.nft) decodes to the same tables, chains,
// maps, elements, objects and rule expressions as decoding our own encoding of the same IR.
// Our dump requests equal nft's. UPDATE_GOLDEN=1 recaptures the dump.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { collectDump, DumpCollector, readReplies } from '../../src/netlink/decode/replies.js';
import { decodeMessage, type DecodedMessage } from '../../src/netlink/decode/message.js';
import { encodeRuleset } from '../../src/netlink/encode-ruleset.js';
import type { Expr } from '../../src/netlink/nft/expr/types.js';
import { objectMapUserdata } from '../../src/netlink/nft/udata.js';
import {
  encodeDumpChains,
  encodeDumpObjects,
  encodeDumpRules,
  encodeDumpSetElements,
  encodeDumpSets,
  encodeDumpTables,
  encodeGetGen,
} from '../../src/netlink/requests.js';
import { NFPROTO_INET, NFPROTO_UNSPEC, NLM_F_ACK, NLMSG_DONE, NLMSG_ERROR } from '../../src/netlink/wire/constants.js';
import { parseAttributes } from '../../src/netlink/wire/attributes.js';
import { nfAttrRange, parseMessages } from '../../src/netlink/wire/message.js';
import { DUMP_IR } from './golden-cases.js';
import { captureDump, captureSkipReason, formatDumpFixture, parseDumpFixture, WIRE_FIXTURES } from './helpers/golden.js';
import { writeFileSync } from 'node:fs';

const FIXTURE = join(WIRE_FIXTURES, 'dump.txt');
const SETUP = join(WIRE_FIXTURES, 'dump.nft');

if (process.env.UPDATE_GOLDEN === '1') {
  test.serial('dump: recapture from nft list ruleset', (t) => {
    const skip = captureSkipReason();
    if (skip) return t.fail(`cannot recapture: ${skip}`);
    writeFileSync(FIXTURE, formatDumpFixture(SETUP, captureDump(SETUP), 'nft list ruleset after nft -f dump.nft: its requests (send) and the kernel replies (recv)'));
    t.pass();
  });
}

function fixture(): { direction: 'send' | 'recv'; bytes: Uint8Array }[] {
  return parseDumpFixture(readFileSync(FIXTURE, 'utf8'));
}

function kernelMessages(): DecodedMessage[] {
  return [...readReplies(fixture().filter((d) => d.direction === 'recv').map((d) => d.bytes))];
}

function ourMessages(): DecodedMessage[] {
  return parseMessages(encodeRuleset(DUMP_IR, { mode: 'replace' }).bytes).map(decodeMessage);
}

function pick<K extends DecodedMessage['kind']>(msgs: DecodedMessage[], kind: K): Extract<DecodedMessage, { kind: K }>[] {
  return msgs.filter((m): m is Extract<DecodedMessage, { kind: K }> => m.kind === kind);
}

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

test('dump: table and generation', (t) => {
  const k = kernelMessages();
  const [gen] = pick(k, 'gen');
  t.true(gen !== undefined && Number.isInteger(gen.gen.id) && gen.gen.id > 0);
  const tables = pick(k, 'table').map((m) => m.table);
  t.is(tables.length, 1);
  // NFTA_TABLE_USE counts chains, sets and objects.
  t.like(tables[0], { family: NFPROTO_INET, name: 'secmarkc', flags: 0, use: 6 });
  t.is(typeof tables[0]?.handle, 'bigint');
});

test('dump: chains decode to what we sent', (t) => {
  const strip = (m: { chain: { table: string; name: string; type?: string; policy?: number; hook?: unknown } }) => {
    const { table, name, type, policy, hook } = m.chain;
    return { table, name, type, policy, hook };
  };
  t.deepEqual(pick(kernelMessages(), 'chain').map(strip), pick(ourMessages(), 'chain').map(strip));
  t.deepEqual(pick(kernelMessages(), 'chain').map((m) => m.chain.hook?.priority), [-225, 225]);
});

test('dump: maps decode to what we sent, nft userdata included', (t) => {
  const strip = (m: { set: { name: string; flags: number; keyType: number; keyLen: number; objType?: number; desc?: unknown; userdata?: Uint8Array } }) => {
    const { name, flags, keyType, keyLen, objType, desc, userdata } = m.set;
    return { name, flags, keyType, keyLen, objType, desc, userdata: hex(userdata) };
  };
  const kernel = pick(kernelMessages(), 'set').map(strip);
  t.deepEqual(kernel, pick(ourMessages(), 'set').map(strip));
  t.deepEqual(kernel.map((s) => [s.flags, s.keyType, s.keyLen]), [
    [0xc4, 0x730d, 12],
    [0xc4, 0x830d, 24],
  ]);
  t.is(kernel[0]?.userdata, hex(objectMapUserdata()));
});

test('dump: map elements decode to the keys we sent', (t) => {
  const elements = (msgs: DecodedMessage[]) => {
    const bySet = new Map<string, string[]>();
    for (const m of pick(msgs, 'setelem')) {
      const list = bySet.get(m.elements.set) ?? [];
      for (const e of m.elements.elements) list.push(`${hex(e.key)}-${hex(e.keyEnd)}:${e.objref}`);
      bySet.set(m.elements.set, list.sort());
    }
    return Object.fromEntries(bySet);
  };
  const kernel = elements(kernelMessages());
  t.deepEqual(kernel, elements(ourMessages()));
  // Each field padded to 4 bytes: address, protocol, port (big-endian).
  t.deepEqual(kernel.connect4, ['c00002001100000003e80000-c00002ff1100000007d00000:browser_client', 'c000020a060000000c380000-c000020a060000000c380000:browser_client']);
});

test('dump: counter objects with their counts', (t) => {
  const objs = pick(kernelMessages(), 'obj').map((m) => m.obj);
  t.deepEqual(
    objs.map((o) => [o.name, o.data]),
    [
      ['browser_client', { kind: 'counter', bytes: 0n, packets: 0n }],
      ['ndp', { kind: 'counter', bytes: 0n, packets: 0n }],
    ],
  );
  t.true(objs.every((o) => typeof o.handle === 'bigint' && o.use !== undefined));
});

test('dump: rules decode to the expressions we sent', (t) => {
  // The kernel reports counter values, and does not echo NFTA_OBJREF_SET_ID (an in-batch name).
  const normal = (e: Expr): Expr => {
    if (e.kind === 'counter') return { kind: 'counter' };
    if (e.kind === 'objref' && e.mode === 'set') return { kind: 'objref', mode: 'set', sreg: e.sreg, set: e.set };
    return e;
  };
  const rules = (msgs: DecodedMessage[]) => pick(msgs, 'rule').map((m) => ({ chain: m.rule.chain, comment: m.rule.comment, exprs: m.rule.expressions.map(normal) }));
  const kernel = rules(kernelMessages());
  t.is(kernel.length, 5);
  t.deepEqual(kernel, rules(ourMessages()));
  const counters = pick(kernelMessages(), 'rule').flatMap((m) => m.rule.expressions.filter((e) => e.kind === 'counter'));
  t.true(counters.length > 0 && counters.every((c) => c.kind === 'counter' && c.packets === 0n && c.bytes === 0n));
  t.true(pick(kernelMessages(), 'rule').every((m) => typeof m.rule.handle === 'bigint'));
});

test('dump: collectDump gathers one dump up to NLMSG_DONE', (t) => {
  const recv = fixture().filter((d) => d.direction === 'recv').map((d) => d.bytes);
  // nft numbers all its list requests 0, so collect per datagram group: the rule dump is the last multi-part one.
  const all = collectDump(recv, 0);
  t.true(all.done);
  t.false(all.interrupted);
  t.is(all.error, undefined);
  t.true(all.items.some((m) => m.kind === 'rule'));
});

test('dump: a DumpCollector with a sink hands over each answering message as its datagram is added, and keeps none', (t) => {
  const recv = fixture().filter((d) => d.direction === 'recv').map((d) => d.bytes);
  const decoded: DecodedMessage[] = [];
  const sinking = new DumpCollector(0, false, (m) => decoded.push(decodeMessage(m)));
  for (const d of recv) {
    const before = decoded.length;
    sinking.add(d);
    // Passed on at once, not when the dump is done.
    t.is(decoded.length - before, parseMessages(d).filter((m) => m.seq === 0 && m.type !== NLMSG_DONE && m.type !== NLMSG_ERROR).length);
  }
  t.true(sinking.done);
  t.deepEqual(sinking.items, []);
  t.deepEqual(decoded, collectDump(recv, 0).items);
});

/** nft leaves its stack garbage in the padding after a request's last attribute; zero it. */
function zeroPadding(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  for (const m of parseMessages(copy)) {
    const { start, end } = nfAttrRange(m);
    for (const a of parseAttributes(copy, start, end)) copy.fill(0, a.end, Math.min(end, (a.end + 3) & ~3));
  }
  return copy;
}

test('requests: our dump requests equal the ones nft sends (sequence numbers aside)', (t) => {
  // Normalised: the padding (see zeroPadding); nft numbers these requests 0, and so do we here.
  const sent = fixture()
    .filter((d) => d.direction === 'send')
    .map((d) => hex(zeroPadding(d.bytes)));
  const ours = [
    encodeGetGen(0),
    encodeDumpTables({ seq: 0, family: NFPROTO_UNSPEC }),
    encodeDumpChains({ seq: 0, family: NFPROTO_UNSPEC }),
    encodeDumpSets({ seq: 0, family: NFPROTO_UNSPEC }),
    encodeDumpSetElements({ seq: 0, table: 'secmarkc', set: 'connect4' }),
    encodeDumpObjects({ seq: 0, table: 'secmarkc' }),
    encodeDumpRules({ seq: 0 }),
  ].map(hex);
  for (const request of ours) t.true(sent.includes(request), `nft sent no request equal to ${request}`);
});

test('requests: table and set filters are in the request', (t) => {
  const [rules] = parseMessages(encodeDumpRules({ seq: 7, table: 'secmarkc', chain: 'output' }));
  t.is(rules?.seq, 7);
  t.true(hex(encodeDumpRules({ seq: 7, table: 'secmarkc' })).includes(Buffer.from('secmarkc\0').toString('hex')));
  t.true(hex(encodeDumpSets({ seq: 1, table: 'secmarkc' })).includes(Buffer.from('secmarkc\0').toString('hex')));
  const [gen] = parseMessages(encodeGetGen(3));
  t.is((gen?.flags ?? -1) & NLM_F_ACK, 0);
});
