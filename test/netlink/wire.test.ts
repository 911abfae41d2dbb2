// The generic netlink layer: the growable writer, attribute framing and padding, the u16
// limit, the attribute parser, and NLMSG_ERROR with extended-ack TLVs.

import test from 'ava';
import { AttrSet, MalformedAttributeError, parseAttributes } from '../../src/netlink/wire/attributes.js';
import { HOST_LITTLE_ENDIAN } from '../../src/netlink/wire/byte-order.js';
import {
  NLA_F_NESTED,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_ERROR,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from '../../src/netlink/wire/constants.js';
import { decodeNlmsgerr, errnoName, errnoText } from '../../src/netlink/wire/error.js';
import { MalformedMessageError, nfgenmsg, parseMessages } from '../../src/netlink/wire/message.js';
import { AttributeOverflowError, NetlinkWriter } from '../../src/netlink/wire/writer.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('host byte order is what this machine uses', (t) => {
  t.is(HOST_LITTLE_ENDIAN, new Uint8Array(new Uint32Array([1]).buffer)[0] === 1);
});

test('writer: grows by doubling and keeps what was written', (t) => {
  const w = new NetlinkWriter(64);
  for (let i = 0; i < 10000; i++) w.attrU32(i & 0x3fff, i);
  t.is(w.offset, 80000);
  const attrs = new AttrSet(w.bytes(), 0, w.offset);
  t.is(attrs.list.length, 10000);
  t.is(attrs.list[9999]?.start, 79996);
  t.is(new DataView(w.bytes().buffer).getUint32(79996, false), 9999);
});

test('writer: attributes are padded to 4 bytes with zeros, lengths exclude padding', (t) => {
  const w = new NetlinkWriter();
  w.attrStrz(1, 'abc'); // 4 + 4
  w.attrStr(2, 'abcde'); // 4 + 5 + 3 pad
  w.attrU8(3, 7); // 4 + 1 + 3 pad
  const b = w.bytes();
  const le = (n: number): string => (HOST_LITTLE_ENDIAN ? [n & 0xff, n >> 8] : [n >> 8, n & 0xff]).map((x) => x.toString(16).padStart(2, '0')).join('');
  t.is(hex(b), `${le(8)}${le(1)}61626300` + `${le(9)}${le(2)}6162636465000000` + `${le(5)}${le(3)}07000000`);
});

test('writer: nests carry NLA_F_NESTED and their full length', (t) => {
  const w = new NetlinkWriter();
  const outer = w.nestStart(4);
  w.attrU32(1, 0x01020304);
  const inner = w.nestStart(2);
  w.attrU64(1, 0x0102030405060708n);
  w.nestEnd(inner);
  w.nestEnd(outer);
  const [a] = parseAttributes(w.bytes(), 0, w.offset);
  t.like(a, { type: 4, nested: true, offset: 0, start: 4, end: 28 });
  const nested = new AttrSet(w.bytes(), 4, 28);
  t.is(nested.u32(1), 0x01020304);
  t.is(nested.nested(2)?.u64(1), 0x0102030405060708n);
  t.is(new DataView(w.bytes().buffer).getUint16(2, HOST_LITTLE_ENDIAN), 4 | NLA_F_NESTED);
});

test('writer: a nest or attribute over 65535 bytes is refused (nla_len is a u16)', (t) => {
  const w = new NetlinkWriter();
  const nest = w.nestStart(3);
  for (let i = 0; i < 8192; i++) w.attrU32(1, i);
  t.throws(() => w.nestEnd(nest), { instanceOf: AttributeOverflowError });
  t.throws(() => new NetlinkWriter().attrBytes(1, new Uint8Array(65532)), { instanceOf: AttributeOverflowError });
  t.notThrows(() => new NetlinkWriter().attrBytes(1, new Uint8Array(65531)));
  t.throws(() => new NetlinkWriter().attrStrz(1, 'x'.repeat(65531)), { instanceOf: AttributeOverflowError });
});

test('writer: UTF-8 strings round trip, NUL dropped on read', (t) => {
  const w = new NetlinkWriter(8);
  w.attrStrz(1, 'größe ✓');
  w.attrStr(2, 'plain');
  const a = new AttrSet(w.bytes(), 0, w.offset);
  t.is(a.str(1), 'größe ✓');
  t.is(a.str(2), 'plain');
  t.is(a.get(1)?.end, 4 + Buffer.byteLength('größe ✓') + 1);
});

test('writer: message header, nfgenmsg and flags patching', (t) => {
  const w = new NetlinkWriter();
  const start = w.messageStart(0x0a00, 1, 77, 1, 0);
  w.attrStrz(1, 'secmarkc');
  w.messageEnd(start);
  w.setMessageFlags(start, w.messageFlagsAt(start) | 4);
  const [m] = parseMessages(w.bytes());
  t.like(m, { offset: 0, length: 36, type: 0x0a00, flags: 5, seq: 77, pid: 0 });
  t.deepEqual(m && nfgenmsg(m), { family: 1, version: 0, resId: 0 });
});

test('parser: malformed lengths are reported with their offset', (t) => {
  const bad = Uint8Array.from([8, 0, 1, 0, 0, 0, 0, 1, 40, 0, 2, 0]);
  const e = t.throws(() => parseAttributes(bad, 0, bad.length), { instanceOf: MalformedAttributeError });
  t.is(e?.offset, 8);
  t.throws(() => parseMessages(Uint8Array.from([200, 0, 0, 0, ...new Array<number>(16).fill(0)])), { instanceOf: MalformedMessageError });
});

/** An NLMSG_ERROR as the kernel builds it (netlink_ack in net/netlink/af_netlink.c). */
function nlmsgerr(opts: { errno: number; capped: boolean; request: Uint8Array; tlvs?: (w: NetlinkWriter) => void }): Uint8Array {
  const w = new NetlinkWriter();
  const start = w.offset;
  w.u32(0);
  w.u16(NLMSG_ERROR);
  w.u16((opts.capped ? NLM_F_CAPPED : 0) | (opts.tlvs ? NLM_F_ACK_TLVS : 0));
  w.u32(9);
  w.u32(1234);
  w.u32(-opts.errno >>> 0);
  w.raw(opts.capped ? opts.request.subarray(0, 16) : opts.request);
  w.pad();
  if (opts.tlvs) {
    // Extended-ack TLVs use host order for u32 values.
    opts.tlvs(w);
  }
  w.setU32At(start, w.offset - start);
  return w.bytes().slice();
}

function hostU32Attr(w: NetlinkWriter, type: number, value: number): void {
  w.u16(8);
  w.u16(type);
  w.u32(value);
}

function sampleRequest(): Uint8Array {
  const w = new NetlinkWriter();
  const s = w.messageStart(0x0a0c, 0x0405, 31, 1);
  w.attrStrz(1, 'secmarkc');
  w.messageEnd(s);
  return w.bytes().slice();
}

test('nlmsgerr: capped error with message and offset TLVs', (t) => {
  const bytes = nlmsgerr({
    errno: 2,
    capped: true,
    request: sampleRequest(),
    tlvs: (w) => {
      w.attrStrz(NLMSGERR_ATTR_MSG, 'Object not found');
      hostU32Attr(w, NLMSGERR_ATTR_OFFS, 20);
      hostU32Attr(w, NLMSGERR_ATTR_MISS_TYPE, 3);
    },
  });
  const [m] = parseMessages(bytes);
  if (!m) return t.fail();
  t.deepEqual(decodeNlmsgerr(m), {
    errno: 2,
    code: 'ENOENT',
    request: { seq: 31, type: 0x0a0c, flags: 0x0405, length: 36 },
    capped: true,
    message: 'Object not found',
    attrOffset: 20,
    missingType: 3,
  });
});

test('nlmsgerr: uncapped error echoes the whole request before the TLVs', (t) => {
  const request = sampleRequest();
  const bytes = nlmsgerr({ errno: 22, capped: false, request, tlvs: (w) => hostU32Attr(w, NLMSGERR_ATTR_OFFS, 24) });
  const [m] = parseMessages(bytes);
  if (!m) return t.fail();
  const e = decodeNlmsgerr(m);
  t.like(e, { errno: 22, code: 'EINVAL', capped: false, attrOffset: 24 });
  t.is(e.message, undefined);
});

test('nlmsgerr: an ACK is errno 0, and errors without TLVs decode too', (t) => {
  const [ack] = parseMessages(nlmsgerr({ errno: 0, capped: true, request: sampleRequest() }));
  const [plain] = parseMessages(nlmsgerr({ errno: 85, capped: true, request: sampleRequest() }));
  if (!ack || !plain) return t.fail();
  t.like(decodeNlmsgerr(ack), { errno: 0, code: 'OK', request: { seq: 31 } });
  t.like(decodeNlmsgerr(plain), { errno: 85, code: 'ERESTART' });
  t.is(errnoName(1), 'EPERM');
  t.is(errnoText(2), 'No such file or directory');
  t.is(errnoName(9999), 'E9999');
});
