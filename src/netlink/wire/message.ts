// struct nlmsghdr framing: split a datagram into messages. Also the nfgenmsg header that
// every nfnetlink message carries after it.

import { NFGENMSG_LEN, NLMSG_ALIGNTO, NLMSG_HDRLEN } from './constants.js';
import { HOST_LITTLE_ENDIAN } from './byte-order.js';
import { SecmarkcError } from '../../errors.js';

export class MalformedMessageError extends SecmarkcError {
  constructor(message: string, readonly offset: number) {
    super('SMC107', `${message} at byte ${offset}`);
  }
}

/** One netlink message inside `buf`: header fields and where its payload is. */
export interface NetlinkMessage {
  readonly buf: Uint8Array;
  /** Offset of struct nlmsghdr in buf. */
  readonly offset: number;
  /** nlmsg_len: header included, padding excluded. */
  readonly length: number;
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
}

/** struct nfgenmsg */
export interface NfGenMsg {
  readonly family: number;
  readonly version: number;
  /** res_id, big-endian on the wire. */
  readonly resId: number;
}

export function parseMessages(buf: Uint8Array): NetlinkMessage[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: NetlinkMessage[] = [];
  let p = 0;
  while (p + NLMSG_HDRLEN <= buf.length) {
    const length = view.getUint32(p, HOST_LITTLE_ENDIAN);
    if (length < NLMSG_HDRLEN || p + length > buf.length) throw new MalformedMessageError(`nlmsg_len ${length} out of bounds`, p);
    out.push({
      buf,
      offset: p,
      length,
      type: view.getUint16(p + 4, HOST_LITTLE_ENDIAN),
      flags: view.getUint16(p + 6, HOST_LITTLE_ENDIAN),
      seq: view.getUint32(p + 8, HOST_LITTLE_ENDIAN),
      pid: view.getUint32(p + 12, HOST_LITTLE_ENDIAN),
    });
    p += (length + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
  }
  return out;
}

export function nfgenmsg(msg: NetlinkMessage): NfGenMsg {
  const p = msg.offset + NLMSG_HDRLEN;
  if (msg.length < NLMSG_HDRLEN + NFGENMSG_LEN) throw new MalformedMessageError('message too short for nfgenmsg', msg.offset);
  const b = msg.buf;
  return { family: b[p] as number, version: b[p + 1] as number, resId: ((b[p + 2] as number) << 8) | (b[p + 3] as number) };
}

/** Where the attributes of an nfnetlink message start and end. */
export function nfAttrRange(msg: NetlinkMessage): { start: number; end: number } {
  return { start: msg.offset + NLMSG_HDRLEN + NFGENMSG_LEN, end: msg.offset + msg.length };
}
