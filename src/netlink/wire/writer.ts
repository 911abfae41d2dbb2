// One growable byte buffer for a whole netlink batch: messages and attributes are written in
// place (headers first, lengths patched when a message or nest ends), so encoding 100,000 set
// elements allocates nothing per attribute. The buffer doubles when full.

import {
  NFGENMSG_LEN,
  NLA_ALIGNTO,
  NLA_F_NESTED,
  NLA_HDRLEN,
  NLA_MAX_LEN,
  NLMSG_HDRLEN,
} from './constants.js';
import { HOST_LITTLE_ENDIAN } from './byte-order.js';

const textEncoder = new TextEncoder();

export function align4(n: number): number {
  return (n + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);
}

/** Thrown when an attribute or nest would not fit its u16 length. */
export class AttributeOverflowError extends RangeError {
  constructor(readonly type: number, readonly length: number) {
    super(`netlink attribute type ${type} would be ${length} bytes; nla_len is a u16 (max ${NLA_MAX_LEN})`);
    this.name = 'AttributeOverflowError';
  }
}

export class NetlinkWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  /**
   * `reuse`: a buffer to write into if it holds `initialSize` bytes, instead of a new one. Every
   * byte up to `offset` is written (padding too), so what it held before does not show; a fresh
   * buffer costs a page fault per 4 KiB on first write, which a process that encodes again and
   * again need not pay each time.
   */
  constructor(initialSize = 64 * 1024, reuse?: Uint8Array) {
    this.buf = reuse && reuse.length >= initialSize ? reuse : new Uint8Array(Math.max(64, initialSize));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Bytes written so far; also the offset the next write goes to. */
  get offset(): number {
    return this.pos;
  }

  /** The bytes written, as a view of the internal buffer (no copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /**
   * Reserve n bytes and advance past them; returns their offset in `buffer`, for hot paths
   * that write bytes directly (the caller must write all n, padding included).
   */
  claim(n: number): number {
    this.reserve(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** The current buffer (replaced when it grows: read it after claim, not before). */
  get buffer(): Uint8Array {
    return this.buf;
  }

  /** Make room for n more bytes. */
  reserve(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  // ------------------------------------------------------------ raw values

  u8(value: number): void {
    this.reserve(1);
    this.buf[this.pos++] = value;
  }

  /** Host order (netlink headers). */
  u16(value: number): void {
    this.reserve(2);
    this.view.setUint16(this.pos, value, HOST_LITTLE_ENDIAN);
    this.pos += 2;
  }

  /** Host order (netlink headers). */
  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.pos, value >>> 0, HOST_LITTLE_ENDIAN);
    this.pos += 4;
  }

  be16(value: number): void {
    this.reserve(2);
    this.view.setUint16(this.pos, value, false);
    this.pos += 2;
  }

  be32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.pos, value >>> 0, false);
    this.pos += 4;
  }

  be64(value: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.pos, value, false);
    this.pos += 8;
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  zeros(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  /** UTF-8 text, optionally NUL-terminated; returns the byte count written. */
  text(value: string, nul: boolean): number {
    const start = this.pos;
    const n = value.length;
    this.reserve(n * 3 + 1);
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c > 0x7f) {
        ascii = false;
        break;
      }
      this.buf[start + i] = c;
    }
    if (ascii) this.pos = start + n;
    else this.pos = start + textEncoder.encodeInto(value, this.buf.subarray(start)).written;
    if (nul) this.buf[this.pos++] = 0;
    return this.pos - start;
  }

  /** Zero bytes up to the next 4-byte boundary. */
  pad(): void {
    const end = align4(this.pos);
    if (end !== this.pos) this.zeros(end - this.pos);
  }

  setU16At(offset: number, value: number): void {
    this.view.setUint16(offset, value, HOST_LITTLE_ENDIAN);
  }

  setU32At(offset: number, value: number): void {
    this.view.setUint32(offset, value >>> 0, HOST_LITTLE_ENDIAN);
  }

  // ------------------------------------------------------------ messages

  /**
   * Start a message: struct nlmsghdr then struct nfgenmsg. Returns its offset for messageEnd.
   * nfgen_family is the table family (or AF_UNSPEC); res_id is big-endian (a subsystem id
   * on batch messages, else 0).
   */
  messageStart(type: number, flags: number, seq: number, family: number, resId = 0): number {
    const start = this.pos;
    this.reserve(NLMSG_HDRLEN + NFGENMSG_LEN);
    this.u32(0); // nlmsg_len, patched by messageEnd
    this.u16(type);
    this.u16(flags);
    this.u32(seq);
    this.u32(0); // nlmsg_pid: the kernel fills in the sender
    this.u8(family);
    this.u8(0); // NFNETLINK_V0
    this.be16(resId);
    return start;
  }

  /** Patch nlmsg_len of the message started at `start`; returns its length. */
  messageEnd(start: number): number {
    this.pad();
    const len = this.pos - start;
    this.setU32At(start, len);
    return len;
  }

  /** Overwrite nlmsg_flags of a finished message (e.g. to add NLM_F_ACK to the last one). */
  setMessageFlags(start: number, flags: number): void {
    this.setU16At(start + 6, flags);
  }

  messageFlagsAt(start: number): number {
    return this.view.getUint16(start + 6, HOST_LITTLE_ENDIAN);
  }

  // ------------------------------------------------------------ attributes

  private header(type: number, valueLength: number): void {
    const len = NLA_HDRLEN + valueLength;
    if (len > NLA_MAX_LEN) throw new AttributeOverflowError(type, len);
    this.reserve(align4(len));
    this.u16(len);
    this.u16(type);
  }

  /** nf_tables u32 attribute: big-endian value. */
  attrU32(type: number, value: number): void {
    this.header(type, 4);
    this.be32(value);
  }

  /** nf_tables u64 attribute: big-endian value. */
  attrU64(type: number, value: bigint): void {
    this.header(type, 8);
    this.be64(value);
  }

  /** A u8 attribute, padded. */
  attrU8(type: number, value: number): void {
    this.header(type, 1);
    this.u8(value);
    this.pad();
  }

  attrBytes(type: number, value: Uint8Array): void {
    this.header(type, value.length);
    this.raw(value);
    this.pad();
  }

  /** NLA_STRING with its NUL (table, chain, set, object, expression names). */
  attrStrz(type: number, value: string): void {
    this.stringAttr(type, value, true);
  }

  /** NLA_STRING without a NUL (secmark context, objref names: what libnftnl sends). */
  attrStr(type: number, value: string): void {
    this.stringAttr(type, value, false);
  }

  private stringAttr(type: number, value: string, nul: boolean): void {
    const start = this.pos;
    this.reserve(NLA_HDRLEN + value.length * 3 + 4);
    this.pos += NLA_HDRLEN;
    const n = this.text(value, nul);
    const len = NLA_HDRLEN + n;
    if (len > NLA_MAX_LEN) {
      this.pos = start;
      throw new AttributeOverflowError(type, len);
    }
    this.setU16At(start, len);
    this.setU16At(start + 2, type);
    this.pad();
  }

  /** Start a nested attribute (NLA_F_NESTED set); returns its offset for nestEnd. */
  nestStart(type: number): number {
    const start = this.pos;
    this.reserve(NLA_HDRLEN);
    this.u16(0);
    this.u16(type | NLA_F_NESTED);
    return start;
  }

  /** Patch the length of the nest started at `start`; throws if it exceeds a u16. */
  nestEnd(start: number): number {
    const len = this.pos - start;
    if (len > NLA_MAX_LEN) throw new AttributeOverflowError(this.view.getUint16(start + 2, HOST_LITTLE_ENDIAN) & ~NLA_F_NESTED, len);
    this.setU16At(start, len);
    return len;
  }
}
