// encodeRuleset beyond what nft's bytes show: 100,000 elements split so that no nest passes
// nla_len's u16, the speed of it, generation ids, sequence numbers, and mapping kernel errors
// back to the policy (locateError, batchOutcome).

import test from 'ava';
import { batchOutcome } from '../../src/netlink/decode/replies.js';
import { encodeRuleset, locateError, type MessageRecord } from '../../src/netlink/encode-ruleset.js';
import { decodeSetElemList } from '../../src/netlink/nft/set-elem.js';
import { NFNL_BATCH_GENID, NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFNL_SUBSYS_NFTABLES, NLA_F_NESTED, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_ERROR, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS } from '../../src/netlink/wire/constants.js';
import { AttrSet, parseAttributes } from '../../src/netlink/wire/attributes.js';
import { nfAttrRange, parseMessages, type NetlinkMessage } from '../../src/netlink/wire/message.js';
import { NetlinkWriter } from '../../src/netlink/wire/writer.js';
import { NFT_MSG_DELTABLE, NFT_MSG_NEWRULE, NFT_MSG_NEWSETELEM, NFT_MSG_NEWTABLE, NFTA_RULE_EXPRESSIONS, NFTA_SET_ELEM_LIST_ELEMENTS } from '../../src/netlink/nft/constants.js';
import { bigMap, chain, counter, element, exactMap, map, rule, ruleset, span, st } from './helpers/ir.js';

const nftType = (m: NetlinkMessage): number => m.type & 0xff;

const big = ruleset({
  objects: [counter('browser_client'), counter('a_much_longer_object_name_for_variety')],
  maps: [bigMap('connect4', 'ipv4', 100_000, ['browser_client', 'a_much_longer_object_name_for_variety']), bigMap('connect6', 'ipv6', 20_000, ['browser_client'])],
  chains: [chain('output', 'output', 0, [rule([st.ctState('new'), st.objrefMap('counter', 'connect4', 'daddr', 'ipv4')])])],
});

test('100,000 elements: split over NEWSETELEM messages, every nest within 65535 bytes, all elements there in order', (t) => {
  const { bytes, messages } = encodeRuleset(big, { mode: 'replace' });
  const msgs = parseMessages(bytes);
  t.is(msgs.length, messages.length);
  const counts = new Map<string, number>();
  let lastKey = '';
  for (const m of msgs) {
    if (nftType(m) !== NFT_MSG_NEWSETELEM || m.type >> 8 !== NFNL_SUBSYS_NFTABLES) continue;
    const { start, end } = nfAttrRange(m);
    const list = new AttrSet(m.buf, start, end).get(NFTA_SET_ELEM_LIST_ELEMENTS);
    t.truthy(list);
    t.true((list?.end ?? 0) - (list?.offset ?? 0) <= 0xffff);
    const decoded = decodeSetElemList(m);
    // Element nests are numbered from 1 within each message (libnftnl's convention).
    const types = parseAttributes(m.buf, list?.start ?? 0, list?.end ?? 0).map((a) => a.type);
    t.deepEqual(types, types.map((_, i) => i + 1));
    counts.set(decoded.set, (counts.get(decoded.set) ?? 0) + decoded.elements.length);
    if (decoded.set === 'connect4') {
      const first = Buffer.from(decoded.elements[0]?.key ?? []).toString('hex');
      t.true(first > lastKey, 'elements stay in IR order across messages');
      lastKey = Buffer.from(decoded.elements[decoded.elements.length - 1]?.key ?? []).toString('hex');
    }
  }
  t.deepEqual(Object.fromEntries(counts), { connect4: 100_000, connect6: 20_000 });
  const elementMessages = messages.filter((m) => m.type === 'NFT_MSG_NEWSETELEM');
  t.true(elementMessages.length > 70, `${elementMessages.length} messages`);
  // 862 elements of 64 and 88 bytes (two object names alternate) fill a nest: 862 * 76 = 65512.
  t.is(elementMessages[0]?.what, 'map "connect4" elements 1-862 of 100000');
});

test('100,000 elements: sequence numbers ascend by one, one ACK on the message before BATCH_END', (t) => {
  const { bytes, messages } = encodeRuleset(big, { mode: 'replace', seqStart: 4_000_000 });
  const msgs = parseMessages(bytes);
  t.deepEqual(
    msgs.map((m) => m.seq),
    msgs.map((_, i) => 4_000_000 + i),
  );
  t.deepEqual(messages.map((m) => m.seq), msgs.map((m) => m.seq));
  t.deepEqual(
    msgs.flatMap((m, i) => ((m.flags & NLM_F_ACK) !== 0 ? [i] : [])),
    [msgs.length - 2],
  );
  t.is(msgs[0]?.type, NFNL_MSG_BATCH_BEGIN);
  t.is(msgs[msgs.length - 1]?.type, NFNL_MSG_BATCH_END);
  t.is(nftType(msgs[msgs.length - 2] as NetlinkMessage), NFT_MSG_NEWRULE);
  // Message records cover the batch exactly, in order.
  t.deepEqual(messages.map((m) => m.start), msgs.map((m) => m.offset));
});

test('BATCH_BEGIN carries NFNL_BATCH_GENID (big-endian u32) when a generation is given', (t) => {
  const withGen = parseMessages(encodeRuleset(ruleset(), { mode: 'replace', genId: 0x01020304 }).bytes)[0];
  const without = parseMessages(encodeRuleset(ruleset(), { mode: 'replace' }).bytes)[0];
  if (!withGen || !without) return t.fail();
  const attrs = new AttrSet(withGen.buf, nfAttrRange(withGen).start, nfAttrRange(withGen).end);
  t.is(attrs.u32(NFNL_BATCH_GENID), 0x01020304);
  t.is(without.length, 20);
  // res_id = NFNL_SUBSYS_NFTABLES, big-endian, in the nfgenmsg.
  t.deepEqual([...withGen.buf.subarray(16, 20)], [0, 0, 0, NFNL_SUBSYS_NFTABLES]);
});

test('delete mode: BEGIN, NEWTABLE, DELTABLE (acked), END — whatever the ruleset holds', (t) => {
  const { bytes, messages } = encodeRuleset(big, { mode: 'delete', seqStart: 10 });
  const msgs = parseMessages(bytes);
  t.deepEqual(
    msgs.map((m) => [m.type === NFNL_MSG_BATCH_BEGIN || m.type === NFNL_MSG_BATCH_END ? m.type : nftType(m), m.seq, (m.flags & NLM_F_ACK) !== 0]),
    [
      [NFNL_MSG_BATCH_BEGIN, 10, false],
      [NFT_MSG_NEWTABLE, 11, false],
      [NFT_MSG_DELTABLE, 12, true],
      [NFNL_MSG_BATCH_END, 13, false],
    ],
  );
  t.deepEqual(
    messages.map((m) => m.what),
    ['batch begin', 'table inet secmarkc (create if missing)', 'delete table inet secmarkc', 'batch end'],
  );
});

// ------------------------------------------------------------------ locating errors

const small = ruleset({
  objects: [counter('browser_client', 3)],
  maps: [map('connect4', 'ipv4', 'counter', [element('192.0.2.10 . tcp . 3128', 'browser_client', 10), element('192.0.2.0/24 . udp . 1000-2000', 'missing', 11)], 9)],
  chains: [
    chain('output', 'output', 0, [rule([st.ctState('new'), st.objrefMap('counter', 'connect4', 'daddr', 'ipv4'), st.counter()], 'label', 20)], 18),
  ],
});

function messageOf(messages: readonly MessageRecord[], type: string): MessageRecord {
  const m = messages.find((x) => x.type === type);
  if (!m) throw new Error(`no ${type}`);
  return m;
}

test('locateError: by seq alone, the message’s node', (t) => {
  const { messages } = encodeRuleset(small, { mode: 'replace' });
  const obj = messageOf(messages, 'NFT_MSG_NEWOBJ');
  t.like(locateError(messages, obj.seq), { kind: 'object', span: span(3), what: 'counter "browser_client"', defines: 'object browser_client' });
  t.is(locateError(messages, 99999), undefined);
  const chainMsg = messageOf(messages, 'NFT_MSG_NEWCHAIN');
  t.is(locateError(messages, chainMsg.seq)?.what, 'chain output (hook output priority 0)');
});

test('locateError: an offset inside an element names that element', (t) => {
  const { bytes, messages } = encodeRuleset(small, { mode: 'replace' });
  const rec = messageOf(messages, 'NFT_MSG_NEWSETELEM');
  t.is(rec.attrs.length, 2);
  const second = rec.attrs[1];
  if (!second) return t.fail();
  // The kernel points at the element's nest (NL_SET_BAD_ATTR(extack, attr) in nft_add_set_elem's caller).
  const located = locateError(messages, rec.seq, second.offset);
  t.like(located, { kind: 'element', span: span(11), what: 'map "connect4" element 192.0.2.0/24 . udp . 1000-2000 : "missing"' });
  // It is refused with the object and the map it names (a refusal of either folds it).
  t.deepEqual(located?.uses, ['object missing', 'map connect4']);
  // ... or inside it.
  t.is(locateError(messages, rec.seq, second.offset + 8)?.span.line, 11);
  t.is(locateError(messages, rec.seq, (rec.attrs[0]?.offset ?? 0) + 4)?.span.line, 10);
  // An offset outside every element (the set name) falls back to the map.
  t.like(locateError(messages, rec.seq, 24), { kind: 'element', span: span(9), what: 'map "connect4" elements', uses: ['map connect4'] });
  // The recorded offset is that of a nested attribute in the bytes.
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  t.is(view.getUint16(rec.start + second.offset + 2, true) & NLA_F_NESTED, NLA_F_NESTED);
});

test('exact map: elements carry a key and no key end, and an offset inside one names it', (t) => {
  const exact = ruleset({
    objects: [counter('a')],
    maps: [exactMap('connect4_exact', 'ipv4', 'counter', [element('192.0.2.10 . tcp . 443', 'a', 20), element('192.0.2.11 . udp . 53', 'a', 21)], 19)],
  });
  const { bytes, messages } = encodeRuleset(exact, { mode: 'replace' });
  const rec = messageOf(messages, 'NFT_MSG_NEWSETELEM');
  const msg = parseMessages(bytes).find((m) => m.offset === rec.start);
  if (!msg) return t.fail();
  const list = decodeSetElemList(msg);
  t.deepEqual(
    list.elements.map((e) => [Buffer.from(e.key ?? []).toString('hex'), e.keyEnd, e.objref]),
    [
      ['c000020a0600000001bb0000', undefined, 'a'],
      ['c000020b1100000000350000', undefined, 'a'],
    ],
  );
  const second = rec.attrs[1];
  if (!second) return t.fail();
  t.like(locateError(messages, rec.seq, second.offset + 8), { span: span(21), what: 'map "connect4_exact" element 192.0.2.11 . udp . 53 : "a"' });
});

test('exact map: a range element is refused before anything is sent', (t) => {
  const bad = ruleset({ objects: [counter('a')], maps: [exactMap('connect4_exact', 'ipv4', 'counter', [element('192.0.2.0/24 . tcp . 443', 'a')])] });
  t.throws(() => encodeRuleset(bad, { mode: 'replace' }), { message: /key part 1 is a range, the map is not an interval map/ });
  const ports = ruleset({ objects: [counter('a')], maps: [exactMap('connect4_exact', 'ipv4', 'counter', [element('192.0.2.1 . tcp . 1-2', 'a')])] });
  t.throws(() => encodeRuleset(ports, { mode: 'replace' }), { message: /key part 3 is a range/ });
});

test('locateError: an offset inside a rule names the statement', (t) => {
  const { bytes, messages } = encodeRuleset(small, { mode: 'replace' });
  const rec = messageOf(messages, 'NFT_MSG_NEWRULE');
  t.deepEqual(
    rec.attrs.map((a) => a.what),
    ['ct state new (rule in chain output)', 'counter name ip daddr . meta l4proto . th dport map @connect4 (rule in chain output)', 'counter (rule in chain output)'],
  );
  const [m] = parseMessages(bytes.subarray(rec.start, rec.end));
  if (!m) return t.fail();
  const exprs = new AttrSet(m.buf, nfAttrRange(m).start, nfAttrRange(m).end).get(NFTA_RULE_EXPRESSIONS);
  const elems = parseAttributes(m.buf, exprs?.start ?? 0, exprs?.end ?? 0);
  // Expressions 0-2 are `ct state new`; 3.. the nfproto dependency and the map lookup.
  t.is(locateError(messages, rec.seq, elems[3]?.offset)?.what, 'counter name ip daddr . meta l4proto . th dport map @connect4 (rule in chain output)');
  t.is(locateError(messages, rec.seq, elems[elems.length - 1]?.offset)?.what, 'counter (rule in chain output)');
  t.is(locateError(messages, rec.seq, elems[1]?.offset)?.span.line, 20);
});

test('locateError: element records of a 100,000-element batch', (t) => {
  const { messages } = encodeRuleset(big, { mode: 'replace' });
  const rec = messages.filter((m) => m.type === 'NFT_MSG_NEWSETELEM')[40];
  if (!rec) return t.fail();
  const a = rec.attrs[17];
  if (!a) return t.fail();
  const found = locateError(messages, rec.seq, a.offset + 12);
  const first = Number(/elements (\d+)-/.exec(rec.what)?.[1]);
  // bigMap gives element i the line 100 + i; `first` counts from 1.
  t.is(found?.span.line, 100 + (first - 1) + 17);
  t.regex(found?.what ?? '', /^map "connect4" element 10\.0\.\d+\.\d+ \. (tcp|udp) \. \d+-\d+ : "/);
});

/** The kernel's answer to one message: an NLMSG_ERROR, capped, with extended-ack TLVs. */
function kernelError(seq: number, errno: number, type: number, offset?: number, text?: string): Uint8Array {
  const w = new NetlinkWriter();
  w.u32(0);
  w.u16(NLMSG_ERROR);
  w.u16(NLM_F_CAPPED | (offset !== undefined || text !== undefined ? NLM_F_ACK_TLVS : 0));
  w.u32(seq);
  w.u32(0);
  w.u32(-errno >>> 0);
  w.u32(100);
  w.u16(type);
  w.u16(0x405);
  w.u32(seq);
  w.u32(1234);
  if (text !== undefined) w.attrStrz(NLMSGERR_ATTR_MSG, text);
  if (offset !== undefined) {
    w.u16(8);
    w.u16(NLMSGERR_ATTR_OFFS);
    w.u32(offset);
  }
  w.setU32At(0, w.offset);
  return w.bytes().slice();
}

test('batchOutcome: each error mapped to its policy line; complete once the last message is answered', (t) => {
  const { messages } = encodeRuleset(small, { mode: 'replace' });
  const elems = messageOf(messages, 'NFT_MSG_NEWSETELEM');
  const last = messages[messages.length - 2] as MessageRecord;
  const elemType = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM;
  const partial = batchOutcome([kernelError(elems.seq, 2, elemType, elems.attrs[1]?.offset)], messages);
  t.false(partial.complete);
  t.is(partial.errors.length, 1);
  t.like(partial.errors[0], { span: span(11), text: 'kernel rejected map "connect4" element 192.0.2.0/24 . udp . 1000-2000 : "missing": No such file or directory (ENOENT)' });
  const whole = batchOutcome([kernelError(elems.seq, 2, elemType, elems.attrs[1]?.offset), kernelError(last.seq, 0, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE)], messages);
  t.true(whole.complete);
  t.is(whole.errors.length, 1);
  const withText = batchOutcome([kernelError(last.seq, 22, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE, undefined, 'bad register')], messages);
  t.true(withText.complete);
  t.regex(withText.errors[0]?.text ?? '', /^kernel rejected rule in chain output: .*: bad register: Invalid argument \(EINVAL\)$/);
});

test('a reused buffer gives the same bytes as a fresh one, whatever it held, and is written into when large enough', (t) => {
  const rs = ruleset({
    objects: [counter('browser_client'), counter('ssh')],
    maps: [bigMap('connect4', 'ipv4', 3000, ['browser_client', 'ssh']), bigMap('connect6', 'ipv6', 500, ['ssh']), exactMap('exact4', 'ipv4', 'counter', [element('192.0.2.1 . tcp . 22', 'ssh')])],
    chains: big.chains,
  });
  const fresh = encodeRuleset(rs, { mode: 'replace', seqStart: 1 });
  const dirty = new Uint8Array(fresh.bytes.buffer.byteLength).fill(0xa5); // as large as the fresh one (the size hint)
  const reused = encodeRuleset(rs, { mode: 'replace', seqStart: 1, reuse: dirty });
  t.is(reused.bytes.buffer, dirty.buffer, 'written into the buffer given');
  t.deepEqual(Buffer.from(reused.bytes), Buffer.from(fresh.bytes));
  // Too small: a buffer of its own, the small one untouched.
  const small = new Uint8Array(64).fill(0xa5);
  const grown = encodeRuleset(rs, { mode: 'replace', seqStart: 1, reuse: small });
  t.not(grown.bytes.buffer, small.buffer);
  t.deepEqual(Buffer.from(grown.bytes), Buffer.from(fresh.bytes));
  t.true(small.every((b) => b === 0xa5));
});
