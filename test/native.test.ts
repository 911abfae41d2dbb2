// The native addon against the real kernel, inside a private network namespace held open by a
// child `unshare -n` (whose /proc/PID/ns/net is passed as netnsFd, so that path is tested too).
// Requests are built by hand here: the addon must move bytes without knowing nf_tables.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import { type NetfilterSocket, openNetfilterSocket } from '../src/native.js';
import { holdNamespace, namespaceSkipReason, NFT, nsSerialTest, nsTest, nsTitle } from './helpers/namespace.js';

// include/uapi/linux/netlink.h
const NLMSG_NOOP = 0x1;
const NLMSG_ERROR = 0x2;
const NLMSG_DONE = 0x3;
const NLM_F_REQUEST = 0x1;
const NLM_F_MULTI = 0x2;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const NLM_F_CREATE = 0x400;
const NLM_F_CAPPED = 0x100;
const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_OFFS = 2;
// include/uapi/linux/netfilter/nfnetlink.h
const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
// include/uapi/linux/netfilter/nf_tables.h
const NFT_MSG_NEWTABLE = 0;
const NFT_MSG_GETTABLE = 1;
const NFT_MSG_DELTABLE = 2;
const NFT_MSG_NEWGEN = 15;
const NFT_MSG_GETGEN = 16;
const NFTA_TABLE_NAME = 1;
const NFTA_GEN_ID = 1;
// include/uapi/linux/netfilter.h
const NFPROTO_UNSPEC = 0;
const NFPROTO_INET = 1;

const nft = (msg: number): number => (NFNL_SUBSYS_NFTABLES << 8) | msg;
const LE = endianness() === 'LE'; // netlink headers are host byte order; nf_tables values big-endian
const TEST_TABLE = 'secmarkc_native_test';

// --- hand-built messages -------------------------------------------------------------------

const align4 = (n: number): number => (n + 3) & ~3;

/** nlattr with its payload padded to 4 bytes. */
function attr(type: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(align4(4 + data.length));
  const view = new DataView(out.buffer);
  view.setUint16(0, 4 + data.length, LE);
  view.setUint16(2, type, LE);
  out.set(data, 4);
  return out;
}

const cString = (s: string): Uint8Array => new TextEncoder().encode(`${s}\0`);

/** struct nfgenmsg: family, version 0 (NFNETLINK_V0), res_id big-endian. */
function nfgenmsg(family: number, resId = 0): Uint8Array {
  const out = new Uint8Array(4);
  out[0] = family;
  new DataView(out.buffer).setUint16(2, resId, false);
  return out;
}

/** struct nlmsghdr + payload; nlmsg_pid 0 (the kernel fills in ours). */
function message(type: number, flags: number, seq: number, ...payload: Uint8Array[]): Uint8Array {
  const length = 16 + payload.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(align4(length));
  const view = new DataView(out.buffer);
  view.setUint32(0, length, LE);
  view.setUint16(4, type, LE);
  view.setUint16(6, flags, LE);
  view.setUint32(8, seq, LE);
  let at = 16;
  for (const p of payload) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const getgen = (seq: number): Uint8Array => message(nft(NFT_MSG_GETGEN), NLM_F_REQUEST | NLM_F_ACK, seq, nfgenmsg(NFPROTO_UNSPEC));

// --- reply parsing -------------------------------------------------------------------------

interface Reply {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  body: DataView;
}

function parse(datagrams: Uint8Array[]): Reply[] {
  const replies: Reply[] = [];
  for (const d of datagrams) {
    const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
    for (let at = 0; at + 16 <= d.byteLength; ) {
      const length = view.getUint32(at, LE);
      if (length < 16 || at + length > d.byteLength) throw new Error(`bad nlmsg_len ${length} at ${at}`);
      replies.push({
        type: view.getUint16(at + 4, LE),
        flags: view.getUint16(at + 6, LE),
        seq: view.getUint32(at + 8, LE),
        pid: view.getUint32(at + 12, LE),
        body: new DataView(d.buffer, d.byteOffset + at + 16, length - 16),
      });
      at += align4(length);
    }
  }
  return replies;
}

/** Attributes of a body, starting after `skip` bytes (a fixed header). */
function attributes(body: DataView, skip: number): Map<number, DataView> {
  const found = new Map<number, DataView>();
  for (let at = skip; at + 4 <= body.byteLength; ) {
    const length = body.getUint16(at, LE);
    found.set(body.getUint16(at + 2, LE) & 0x3fff, new DataView(body.buffer, body.byteOffset + at + 4, length - 4));
    at += align4(length);
  }
  return found;
}

/** struct nlmsgerr: the (negative) error, the request's header, then ext-ack TLVs (request capped). */
const errorOf = (r: Reply): number => r.body.getInt32(0, LE);
const ackAttributes = (r: Reply): Map<number, DataView> => attributes(r.body, 4 + 16);

// --- the namespace -------------------------------------------------------------------------

const ns = namespaceSkipReason ? undefined : holdNamespace();

const sockets: NetfilterSocket[] = [];
function open(receiveBufferBytes?: number): NetfilterSocket {
  const netnsFd = ns!.fd;
  const socket = openNetfilterSocket(receiveBufferBytes === undefined ? { netnsFd } : { netnsFd, receiveBufferBytes });
  sockets.push(socket);
  return socket;
}
test.after.always(() => {
  for (const s of sockets) s.close();
});

// --- tests ---------------------------------------------------------------------------------

nsTest(nsTitle('GETGEN is answered by NEWGEN with NFTA_GEN_ID, then an ACK, queued before send returns'), (t) => {
  const socket = open();
  t.true(socket.portId > 0);
  socket.send(getgen(7));
  const replies = parse(socket.drain());
  t.deepEqual(
    replies.map((r) => [r.type, r.seq, r.pid]),
    [
      [nft(NFT_MSG_NEWGEN), 7, socket.portId],
      [NLMSG_ERROR, 7, socket.portId],
    ],
  );
  const gen = attributes(replies[0]!.body, 4).get(NFTA_GEN_ID);
  t.is(gen?.byteLength, 4);
  t.is(errorOf(replies[1]!), 0);
  t.deepEqual(socket.drain(), []);
});

nsTest(nsTitle('a malformed message (unknown nf_tables message type) gets NLMSG_ERROR -EINVAL'), (t) => {
  const socket = open();
  socket.send(message(nft(0xff), NLM_F_REQUEST | NLM_F_ACK, 42, nfgenmsg(NFPROTO_UNSPEC)));
  const [reply, ...rest] = parse(socket.drain());
  t.deepEqual(rest, []);
  t.is(reply?.type, NLMSG_ERROR);
  t.is(reply?.seq, 42);
  t.is(errorOf(reply!), -22); // EINVAL
});

nsTest(nsTitle('errors carry the extended-ack offset and do not echo the request (EXT_ACK, CAP_ACK)'), (t) => {
  const socket = open();
  const request = message(nft(NFT_MSG_GETTABLE), NLM_F_REQUEST | NLM_F_ACK, 3, nfgenmsg(NFPROTO_INET), attr(NFTA_TABLE_NAME, cString('no_such_table')));
  socket.send(request);
  const [reply] = parse(socket.drain());
  t.is(reply?.type, NLMSG_ERROR);
  t.is(errorOf(reply!), -2); // ENOENT
  t.is(reply!.flags & (NLM_F_CAPPED | NLM_F_ACK_TLVS), NLM_F_CAPPED | NLM_F_ACK_TLVS);
  t.is(ackAttributes(reply!).get(NLMSGERR_ATTR_OFFS)?.getUint32(0, LE), 16 + 4); // the NFTA_TABLE_NAME attribute
});

nsTest(nsTitle('a batch is applied inside send, in the namespace given by netnsFd and not in the host'), (t) => {
  const socket = open();
  const batch = concat([
    message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 1, nfgenmsg(NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES)),
    message(nft(NFT_MSG_NEWTABLE), NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK, 2, nfgenmsg(NFPROTO_INET), attr(NFTA_TABLE_NAME, cString(TEST_TABLE))),
    message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 3, nfgenmsg(NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES)),
  ]);
  socket.send(batch);
  const acks = parse(socket.drain());

  // First the host's namespace, asked through a socket opened without netnsFd: if netnsFd was
  // ignored, the batch landed there, and is undone before any assertion can fail.
  const host = openNetfilterSocket();
  let hostReply: Reply | undefined;
  try {
    host.send(message(nft(NFT_MSG_GETTABLE), NLM_F_REQUEST | NLM_F_ACK, 1, nfgenmsg(NFPROTO_INET), attr(NFTA_TABLE_NAME, cString(TEST_TABLE))));
    [hostReply] = parse(host.drain());
    if (hostReply?.type === nft(NFT_MSG_NEWTABLE)) spawnSync(NFT, ['delete', 'table', 'inet', TEST_TABLE]);
  } finally {
    host.close();
  }

  t.deepEqual(
    acks.map((r) => [r.type, r.seq, errorOf(r)]),
    [[NLMSG_ERROR, 2, 0]],
  );
  t.is(hostReply?.type, NLMSG_ERROR);
  t.is(errorOf(hostReply!), -2); // ENOENT: not in the host
  const inside = ns!.nft('list', 'tables');
  t.is(inside.status, 0, inside.stderr);
  t.true(inside.stdout.includes(`table inet ${TEST_TABLE}`), inside.stdout);
});

nsTest(nsTitle('sendAsync() sends off the main thread (the event loop turns meanwhile): when it resolves the kernel has processed the batch'), async (t) => {
  const socket = open();
  const name = `${TEST_TABLE}_async`;
  const batch = concat([
    message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 1, nfgenmsg(NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES)),
    message(nft(NFT_MSG_NEWTABLE), NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK, 2, nfgenmsg(NFPROTO_INET), attr(NFTA_TABLE_NAME, cString(name))),
    message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 3, nfgenmsg(NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES)),
  ]);
  // Off the main thread: the event loop turns while the kernel works. A send done inline would
  // resolve in a microtask, before any setImmediate callback could run.
  let loopTurned = false;
  setImmediate(() => (loopTurned = true));
  t.is(await socket.sendAsync(batch), undefined);
  t.true(loopTurned, 'the event loop ran while sendAsync() was pending');
  t.deepEqual(
    parse(socket.drain()).map((r) => [r.type, r.seq, errorOf(r)]),
    [[NLMSG_ERROR, 2, 0]],
  );
  const inside = ns!.nft('list', 'tables');
  t.true(inside.stdout.includes(`table inet ${name}`), inside.stdout);
  // Errors of the send itself reject, like send() throws them.
  socket.close();
  const error = await t.throwsAsync(socket.sendAsync(batch));
  t.like(error, { code: 'EBADF', syscall: 'sendmsg', errno: 9 });
});

nsTest(nsTitle('sendAsync() of a 10 MB message is sent whole and acknowledged'), async (t) => {
  const socket = open();
  await socket.sendAsync(message(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 6, new Uint8Array(10 * 1024 * 1024)));
  t.deepEqual(
    parse(socket.drain()).map((r) => [r.type, r.seq, errorOf(r)]),
    [[NLMSG_ERROR, 6, 0]],
  );
});

nsSerialTest(nsTitle('dump parts are as large as the kernel makes them (~32 KiB), not one page; drain(max) returns at most max'), (t) => {
  // Serial: the many tables exist only during this test, in the namespace the others share.
  const socket = open();
  const names = Array.from({ length: 1500 }, (_, i) => `${TEST_TABLE}_many_${i}`);
  const tables = (type: number, flags: number) =>
    concat([
      message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 1, nfgenmsg(NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES)),
      ...names.map((name, i) => message(nft(type), NLM_F_REQUEST | flags, 2 + i, nfgenmsg(NFPROTO_INET), attr(NFTA_TABLE_NAME, cString(name)))),
      message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 2 + names.length, nfgenmsg(NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES)),
    ]);
  socket.send(tables(NFT_MSG_NEWTABLE, NLM_F_CREATE));
  t.deepEqual(parse(socket.drain()).filter((r) => r.type === NLMSG_ERROR && errorOf(r) !== 0), []);
  try {
    socket.send(message(nft(NFT_MSG_GETTABLE), NLM_F_REQUEST | NLM_F_DUMP, 77, nfgenmsg(NFPROTO_INET)));
    const first = socket.drain(1);
    t.is(first.length, 1);
    const rest = socket.drain();
    const replies = parse([...first, ...rest]);
    t.is(replies.filter((r) => r.type === nft(NFT_MSG_NEWTABLE)).length, names.length);
    t.is(replies.at(-1)?.type, NLMSG_DONE);
    // The first part is made while the request is sent; each later one fills what recvmsg was
    // offered (the addon offers 64 KiB; the kernel caps a part at ~32 KiB). With one page per part,
    // nf_tables would walk a large map from its start ~9 times as often.
    const sizes = rest.map((d) => d.length);
    t.true(Math.max(...sizes) > 16 * 1024, `dump parts of ${sizes.join(', ')} bytes`);
  } finally {
    socket.send(tables(NFT_MSG_DELTABLE, 0));
    t.deepEqual(parse(socket.drain()).filter((r) => r.type === NLMSG_ERROR && errorOf(r) !== 0), []);
  }
});

nsTest(nsTitle('receive() returns one datagram of a dump at a time, then null once nothing is queued'), async (t) => {
  const socket = open();
  socket.send(message(nft(NFT_MSG_GETTABLE), NLM_F_REQUEST | NLM_F_DUMP, 9, nfgenmsg(NFPROTO_UNSPEC)));
  const replies: Reply[] = [];
  for (;;) {
    const datagram = await socket.receive(2000);
    if (!datagram) return t.fail('dump ended without NLMSG_DONE');
    const batch = parse([datagram]);
    replies.push(...batch);
    if (batch.some((r) => r.type === NLMSG_DONE)) break;
  }
  t.true(replies.every((r) => r.seq === 9 && (r.flags & NLM_F_MULTI) !== 0));
  t.is(await socket.receive(50), null);
});

// Serial: other tests block the event loop on purpose (spawnSync, 10 MB copies).
nsSerialTest(nsTitle('receive(200) resolves null when nothing is queued, without blocking the event loop'), async (t) => {
  const socket = open();
  // A timer due long before the receive times out must run while it waits: had receive blocked
  // the thread, the timer would only fire after it returned. (No tick counting: a loaded machine
  // runs fewer ticks, never none.)
  let timerRanAt: bigint | undefined;
  setTimeout(() => (timerRanAt = process.hrtime.bigint()), 1);
  const started = process.hrtime.bigint();
  const result = await socket.receive(200);
  const returnedAt = process.hrtime.bigint();
  const elapsedMs = Number(returnedAt - started) / 1e6;
  t.is(result, null);
  t.true(elapsedMs >= 190, `returned after ${elapsedMs} ms`);
  t.true(timerRanAt !== undefined && timerRanAt < returnedAt, 'the event loop ran a timer while receive() waited');
});

nsTest(nsTitle('receive() returns an already queued reply as a Buffer'), async (t) => {
  const socket = open();
  socket.send(getgen(11));
  const datagram = await socket.receive(1000);
  t.true(Buffer.isBuffer(datagram));
  t.is(parse([datagram!])[0]?.type, nft(NFT_MSG_NEWGEN));
});

nsTest(nsTitle('close() wakes a pending receive (null), is idempotent, and later calls fail with EBADF'), async (t) => {
  const socket = open();
  // Longer than ava's timeout: only close() can end this wait in time.
  const pending = socket.receive(600_000);
  socket.close();
  t.is(await pending, null);
  t.notThrows(() => socket.close());
  const sendError = t.throws(() => socket.send(getgen(1)));
  t.like(sendError, { code: 'EBADF', syscall: 'sendmsg', errno: 9 });
  t.like(t.throws(() => socket.drain()), { code: 'EBADF', syscall: 'recv' });
  await t.throwsAsync(socket.receive(10), { code: 'EBADF' });
});

nsTest(nsTitle('a 10 MB message is sent whole (no EMSGSIZE) and acknowledged'), (t) => {
  const socket = open();
  const big = message(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 5, new Uint8Array(10 * 1024 * 1024));
  t.notThrows(() => socket.send(big));
  const replies = parse(socket.drain());
  t.deepEqual(
    replies.map((r) => [r.type, r.seq, errorOf(r)]),
    [[NLMSG_ERROR, 5, 0]],
  );
  t.true(replies[0]!.body.byteLength <= 64, `ack body is ${replies[0]!.body.byteLength} bytes`);
});

nsTest(nsTitle('an overrun receive buffer surfaces as ENOBUFS'), (t) => {
  const socket = open(1); // the kernel's minimum, a few KiB
  socket.send(concat(Array.from({ length: 200 }, (_, i) => getgen(i + 1))));
  const error = t.throws(() => socket.drain());
  t.like(error, { code: 'ENOBUFS', errno: 105, syscall: 'recv', message: 'recv: No buffer space available' });
});

nsTest(nsTitle('an invalid netnsFd fails in setns with an errno error'), (t) => {
  const notANamespace = openSync('/dev/null', 'r');
  try {
    const error = t.throws(() => openNetfilterSocket({ netnsFd: notANamespace }));
    t.like(error, { errno: 22, code: 'EINVAL', syscall: 'setns', message: 'setns: Invalid argument' });
  } finally {
    closeSync(notANamespace);
  }
  const neverOpened = 1 << 30; // above any RLIMIT_NOFILE, so no concurrent test can own it
  t.like(t.throws(() => openNetfilterSocket({ netnsFd: neverOpened })), { errno: 9, code: 'EBADF', syscall: 'setns' });
  t.throws(() => openNetfilterSocket({ netnsFd: -1 }), { instanceOf: RangeError });
});

nsTest(nsTitle('opening in another namespace returns the calling thread to its own'), (t) => {
  const own = readlinkSync('/proc/thread-self/ns/net');
  t.not(readlinkSync(`/proc/${ns!.pid}/ns/net`), own);
  open();
  t.is(readlinkSync('/proc/thread-self/ns/net'), own);
});

test('argument errors are TypeErrors and RangeErrors, not crashes', (t) => {
  // Needs no namespace: the addon checks arguments before any system call that could matter.
  const socket = openNetfilterSocket();
  try {
    t.throws(() => socket.send('text' as unknown as Uint8Array), { instanceOf: TypeError });
    t.throws(() => socket.send(new Uint16Array(4) as unknown as Uint8Array), { instanceOf: TypeError });
    t.throws(() => socket.sendAsync('text' as unknown as Uint8Array) as unknown, { instanceOf: TypeError });
    t.throws(() => socket.receive(-1) as unknown, { instanceOf: RangeError });
    t.throws(() => openNetfilterSocket({ receiveBufferBytes: 0 }), { instanceOf: RangeError });
  } finally {
    socket.close();
  }
});
