// Encode → decode round trips for every object and every expression in the registries
// (libnftnl's tests/ style): what we write is what we read back, field for field.

import test from 'ava';
import { startNftMessage } from '../../src/netlink/nft/batch.js';
import { decodeChain, encodeChain, type NftChain } from '../../src/netlink/nft/chain.js';
import * as C from '../../src/netlink/nft/constants.js';
import { EXPR_OPS } from '../../src/netlink/nft/expr/registry.js';
import type { KnownExpr } from '../../src/netlink/nft/expr/types.js';
import { decodeGen, encodeGen, type NftGen } from '../../src/netlink/nft/gen.js';
import { decodeObj, encodeObj, OBJ_OPS, type NftObj } from '../../src/netlink/nft/obj.js';
import { decodeRule, encodeRule, type NftRule } from '../../src/netlink/nft/rule.js';
import { decodeSet, encodeSet, type NftSet } from '../../src/netlink/nft/set.js';
import { decodeSetElemList, encodeSetElemList, type NftSetElemList } from '../../src/netlink/nft/set-elem.js';
import { decodeTable, encodeTable, type NftTable } from '../../src/netlink/nft/table.js';
import { objectMapUserdata, parseUserdata, ruleCommentFromUserdata, ruleCommentUserdata } from '../../src/netlink/nft/udata.js';
import { hostU32Bytes } from '../../src/netlink/wire/byte-order.js';
import { NFPROTO_INET } from '../../src/netlink/wire/constants.js';
import { parseMessages, type NetlinkMessage } from '../../src/netlink/wire/message.js';
import { NetlinkWriter } from '../../src/netlink/wire/writer.js';

/** One message through a deliberately tiny writer (so it has to grow), parsed back. */
function viaMessage<T>(msg: number, encode: (w: NetlinkWriter) => void, decode: (m: NetlinkMessage) => T): T {
  const w = new NetlinkWriter(16);
  const start = startNftMessage(w, msg, 0, 42, NFPROTO_INET);
  encode(w);
  w.messageEnd(start);
  const msgs = parseMessages(w.bytes().slice());
  if (msgs.length !== 1 || msgs[0]?.length !== w.offset) throw new Error('framing');
  return decode(msgs[0]);
}

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** Every expression kind, in the shapes we emit and the ones we only read. */
const SAMPLE_EXPRS: readonly KnownExpr[] = [
  { kind: 'payload', dreg: C.NFT_REG_1, base: C.NFT_PAYLOAD_NETWORK_HEADER, offset: 16, len: 4 },
  { kind: 'payload', dreg: 13, base: C.NFT_PAYLOAD_TRANSPORT_HEADER, offset: 2, len: 2 },
  { kind: 'meta', key: C.NFT_META_L4PROTO, dreg: 9 },
  { kind: 'meta', key: C.NFT_META_SECMARK, sreg: C.NFT_REG_1 },
  { kind: 'ct', key: C.NFT_CT_STATE, dreg: C.NFT_REG_1 },
  { kind: 'ct', key: C.NFT_CT_SECMARK, sreg: C.NFT_REG_1 },
  { kind: 'ct', key: C.NFT_CT_MARK, dreg: 2, direction: 1 },
  { kind: 'cmp', sreg: C.NFT_REG_1, op: C.NFT_CMP_NEQ, data: hostU32Bytes(0) },
  { kind: 'cmp', sreg: C.NFT_REG_1, op: C.NFT_CMP_GTE, data: bytes(0x85) },
  { kind: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: hostU32Bytes(6), xor: hostU32Bytes(0) },
  { kind: 'byteorder', sreg: 9, dreg: 9, op: C.NFT_BYTEORDER_HTON, len: 1, size: 2 },
  { kind: 'lookup', set: 'allowed', sreg: 1, setId: 3 },
  { kind: 'lookup', set: 'verdicts', sreg: 1, dreg: 0, flags: C.NFT_LOOKUP_F_INV },
  { kind: 'immediate', dreg: 0, data: { verdict: -3, chain: 'next' } },
  { kind: 'immediate', dreg: 0, data: { verdict: 1 } },
  { kind: 'immediate', dreg: 1, data: { value: bytes(1, 2, 3, 4) } },
  { kind: 'objref', mode: 'immediate', objType: C.NFT_OBJECT_SECMARK, name: 'browser_client' },
  { kind: 'objref', mode: 'set', sreg: 1, set: 'connect4', setId: 1 },
  { kind: 'objref', mode: 'set', sreg: 1, set: 'connect4' },
  { kind: 'counter' },
  { kind: 'counter', bytes: 1234567890123n, packets: 42n },
  { kind: 'range', sreg: 1, op: C.NFT_RANGE_EQ, from: bytes(0x85), to: bytes(0x89) },
];

test('every registered expression has a sample, and every sample a registered kind', (t) => {
  t.deepEqual([...new Set(SAMPLE_EXPRS.map((e) => e.kind))].sort(), Object.keys(EXPR_OPS).sort());
  for (const [name, ops] of Object.entries(EXPR_OPS)) t.is<string, string>(ops.name, name);
});

for (const e of SAMPLE_EXPRS) {
  test(`round trip: expression ${JSON.stringify(e, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))}`, (t) => {
    const rule: NftRule<KnownExpr> = { family: NFPROTO_INET, table: 't', chain: 'c', expressions: [e] };
    const back = viaMessage(C.NFT_MSG_NEWRULE, (w) => encodeRule(w, rule), decodeRule);
    t.deepEqual(back.expressions, [e]);
  });
}

test('round trip: rule with many expressions, handle, position, comment userdata', (t) => {
  const userdata = ruleCommentUserdata('label new connections by connect rules');
  const rule: NftRule<KnownExpr> = { family: NFPROTO_INET, table: 'secmarkc', chain: 'output', handle: 7n, position: 3n, expressions: SAMPLE_EXPRS, userdata };
  const back = viaMessage(C.NFT_MSG_NEWRULE, (w) => encodeRule(w, rule), decodeRule);
  t.deepEqual(back, { ...rule, comment: 'label new connections by connect rules' });
});

test('round trip: unknown expressions are kept as raw bytes', (t) => {
  const back = viaMessage(
    C.NFT_MSG_NEWRULE,
    (w) => {
      w.attrStrz(C.NFTA_RULE_TABLE, 't');
      w.attrStrz(C.NFTA_RULE_CHAIN, 'c');
      const list = w.nestStart(C.NFTA_RULE_EXPRESSIONS);
      const elem = w.nestStart(C.NFTA_LIST_ELEM);
      w.attrStrz(C.NFTA_EXPR_NAME, 'quota');
      const data = w.nestStart(C.NFTA_EXPR_DATA);
      w.attrU64(1, 1000n);
      w.nestEnd(data);
      w.nestEnd(elem);
      w.nestEnd(list);
    },
    decodeRule,
  );
  t.deepEqual(back.expressions, [{ kind: 'unknown', name: 'quota', data: bytes(12, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0xe8) }]);
});

test('round trip: table', (t) => {
  const table: NftTable = { family: NFPROTO_INET, name: 'secmarkc', flags: 0, handle: 9n, userdata: bytes(0, 3, 0x61, 0x62, 0) };
  t.deepEqual(
    viaMessage(C.NFT_MSG_NEWTABLE, (w) => encodeTable(w, table), decodeTable),
    table,
  );
  t.deepEqual(
    viaMessage(C.NFT_MSG_DELTABLE, (w) => encodeTable(w, { family: NFPROTO_INET, name: 'x' }), decodeTable),
    { family: NFPROTO_INET, name: 'x' },
  );
});

test('round trip: base chains with negative and positive priorities', (t) => {
  for (const priority of [-225, 0, 225, -2147483648, 2147483647]) {
    const chain: NftChain = { family: NFPROTO_INET, table: 'secmarkc', name: 'input', type: 'filter', policy: 1, hook: { hooknum: 1, priority } };
    t.deepEqual(viaMessage(C.NFT_MSG_NEWCHAIN, (w) => encodeChain(w, chain), decodeChain), chain);
  }
  const full: NftChain = { family: NFPROTO_INET, table: 't', name: 'c', handle: 3n, flags: 1 };
  t.deepEqual(viaMessage(C.NFT_MSG_NEWCHAIN, (w) => encodeChain(w, full), decodeChain), full);
});

test('round trip: object map set', (t) => {
  const set: NftSet = {
    family: NFPROTO_INET,
    table: 'secmarkc',
    name: 'connect6',
    flags: C.NFT_SET_INTERVAL | C.NFT_SET_OBJECT | C.NFT_SET_CONCAT,
    keyType: 0x830d,
    keyLen: 24,
    objType: C.NFT_OBJECT_SECMARK,
    id: 2,
    desc: { concat: [16, 1, 2] },
    userdata: objectMapUserdata(),
  };
  t.deepEqual(viaMessage(C.NFT_MSG_NEWSET, (w) => encodeSet(w, set), decodeSet), set);
  const dataMap: NftSet = { family: 1, table: 't', name: 'm', handle: 4n, flags: C.NFT_SET_MAP, keyType: 7, keyLen: 4, dataType: C.NFT_DATA_VERDICT, dataLen: 0, policy: 1, desc: { size: 10 } };
  t.deepEqual(viaMessage(C.NFT_MSG_NEWSET, (w) => encodeSet(w, dataMap), decodeSet), dataMap);
});

test('round trip: set element list', (t) => {
  const list: NftSetElemList = {
    family: NFPROTO_INET,
    table: 'secmarkc',
    set: 'connect4',
    setId: 1,
    elements: [
      { key: bytes(192, 0, 2, 10, 6, 0, 0, 0, 0x0c, 0x38, 0, 0), keyEnd: bytes(192, 0, 2, 10, 6, 0, 0, 0, 0x0c, 0x38, 0, 0), objref: 'browser_client' },
      { key: bytes(10, 0, 0, 0), flags: C.NFT_SET_ELEM_INTERVAL_END, data: { verdict: 1 }, timeout: 5000n, userdata: bytes(1, 1, 1) },
      { key: bytes(1, 2, 3, 4), data: { value: bytes(9, 9) } },
    ],
  };
  t.deepEqual(viaMessage(C.NFT_MSG_NEWSETELEM, (w) => encodeSetElemList(w, list), decodeSetElemList), list);
});

test('round trip: objects of every registered type, and unknown ones', (t) => {
  const objs: NftObj[] = [
    { family: NFPROTO_INET, table: 'secmarkc', name: 'browser_client', data: { kind: 'secmark', context: 'system_u:object_r:secmarkc_browser_client_packet_t:s0' } },
    { family: NFPROTO_INET, table: 'secmarkc', name: 'c', handle: 5n, data: { kind: 'counter', bytes: 1500n, packets: 1n } },
    { family: NFPROTO_INET, table: 'secmarkc', name: 'q', data: { kind: 'unknown', type: C.NFT_OBJECT_QUOTA, data: bytes(12, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1) } },
  ];
  t.deepEqual(Object.keys(OBJ_OPS).sort(), ['counter', 'secmark']);
  for (const o of objs) t.deepEqual(viaMessage(C.NFT_MSG_NEWOBJ, (w) => encodeObj(w, o), decodeObj), o);
});

test('secmark context goes out without a NUL; names with one', (t) => {
  const w = new NetlinkWriter();
  encodeObj(w, { family: 1, table: 't', name: 'x', data: { kind: 'secmark', context: 'a:b:c_t:s0' } });
  const hex = Buffer.from(w.bytes()).toString('hex');
  // nla_len 14 = 4 + 10 context bytes, NFTA_SECMARK_CTX, the text, then 2 bytes of padding.
  const ctxAttr = '0e000100' + Buffer.from('a:b:c_t:s0').toString('hex') + '0000';
  t.true(hex.includes(ctxAttr), hex);
  t.true(hex.includes(Buffer.from('x\0').toString('hex')));
});

test('round trip: generation', (t) => {
  const gen: NftGen = { id: 4711, procPid: 123, procName: 'nft' };
  t.deepEqual(viaMessage(C.NFT_MSG_NEWGEN, (w) => encodeGen(w, gen), decodeGen), gen);
});

test('userdata: rule comments and the object map blob parse back', (t) => {
  t.is(ruleCommentFromUserdata(ruleCommentUserdata('ünïcode comment')), 'ünïcode comment');
  t.deepEqual(
    parseUserdata(objectMapUserdata()).map((u) => u.type),
    [C.NFTNL_UDATA_SET_KEYBYTEORDER, C.NFTNL_UDATA_SET_KEY_TYPEOF, C.NFTNL_UDATA_SET_DATA_INTERVAL],
  );
});
