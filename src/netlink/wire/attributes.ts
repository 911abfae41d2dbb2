// Reading netlink attributes (TLVs): iterate one level, index by type, read typed values.
// Offsets are absolute in the buffer handed in, so a decoded attribute can be traced back to
// the bytes (and an extended-ack offset to the attribute it names).

import { NLA_ALIGNTO, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK } from './constants.js';
import { HOST_LITTLE_ENDIAN } from './byte-order.js';
import { SecmarkcError } from '../../errors.js';

const textDecoder = new TextDecoder('utf-8', { fatal: false });

export class MalformedAttributeError extends SecmarkcError {
  constructor(message: string, readonly offset: number) {
    super('SMC107', `${message} at byte ${offset}`);
  }
}

/** One attribute: type without flag bits, flags, and where header and value are. */
export interface Attr {
  readonly type: number;
  readonly nested: boolean;
  readonly netByteOrder: boolean;
  /** Offset of the struct nlattr header. */
  readonly offset: number;
  /** Value bytes: [start, end), end excluding padding. */
  readonly start: number;
  readonly end: number;
}

/** The attributes in buf[start, end), one level deep, in wire order. */
export function parseAttributes(buf: Uint8Array, start: number, end: number): Attr[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Attr[] = [];
  let p = start;
  while (p + NLA_HDRLEN <= end) {
    const len = view.getUint16(p, HOST_LITTLE_ENDIAN);
    const rawType = view.getUint16(p + 2, HOST_LITTLE_ENDIAN);
    if (len < NLA_HDRLEN || p + len > end) throw new MalformedAttributeError(`attribute length ${len} out of bounds`, p);
    out.push({
      type: rawType & NLA_TYPE_MASK,
      nested: (rawType & NLA_F_NESTED) !== 0,
      netByteOrder: (rawType & NLA_F_NET_BYTEORDER) !== 0,
      offset: p,
      start: p + NLA_HDRLEN,
      end: p + len,
    });
    p += (len + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);
  }
  return out;
}

/**
 * A parsed attribute list with typed accessors. nf_tables integers are big-endian;
 * strings drop their trailing NUL if there is one.
 */
export class AttrSet {
  readonly list: readonly Attr[];
  private readonly byType: (Attr | undefined)[] = [];
  private readonly view: DataView;

  constructor(readonly buf: Uint8Array, start: number, end: number) {
    this.list = parseAttributes(buf, start, end);
    for (const a of this.list) this.byType[a.type] = a;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  static of(buf: Uint8Array, attr: Attr): AttrSet {
    return new AttrSet(buf, attr.start, attr.end);
  }

  has(type: number): boolean {
    return this.byType[type] !== undefined;
  }

  get(type: number): Attr | undefined {
    return this.byType[type];
  }

  u8(type: number): number | undefined {
    const a = this.byType[type];
    return a && a.end - a.start >= 1 ? (this.buf[a.start] as number) : undefined;
  }

  /** Big-endian u32 (nf_tables values). */
  u32(type: number): number | undefined {
    const a = this.byType[type];
    return a && a.end - a.start >= 4 ? this.view.getUint32(a.start, false) : undefined;
  }

  /** Big-endian s32 (e.g. NFTA_HOOK_PRIORITY). */
  s32(type: number): number | undefined {
    const a = this.byType[type];
    return a && a.end - a.start >= 4 ? this.view.getInt32(a.start, false) : undefined;
  }

  /** Host-order u32 (netlink's own attributes, e.g. NLMSGERR_ATTR_OFFS). */
  hostU32(type: number): number | undefined {
    const a = this.byType[type];
    return a && a.end - a.start >= 4 ? this.view.getUint32(a.start, HOST_LITTLE_ENDIAN) : undefined;
  }

  /** Big-endian u64 (handles, counters). */
  u64(type: number): bigint | undefined {
    const a = this.byType[type];
    return a && a.end - a.start >= 8 ? this.view.getBigUint64(a.start, false) : undefined;
  }

  str(type: number): string | undefined {
    const a = this.byType[type];
    return a ? attrString(this.buf, a) : undefined;
  }

  /** The value bytes, copied (decoded objects must not alias a receive buffer). */
  bytes(type: number): Uint8Array | undefined {
    const a = this.byType[type];
    return a ? this.buf.slice(a.start, a.end) : undefined;
  }

  nested(type: number): AttrSet | undefined {
    const a = this.byType[type];
    return a ? new AttrSet(this.buf, a.start, a.end) : undefined;
  }
}

/** An NLA_STRING value: UTF-8, the trailing NUL (if any) dropped. */
export function attrString(buf: Uint8Array, a: Attr): string {
  let end = a.end;
  while (end > a.start && buf[end - 1] === 0) end--;
  let ascii = true;
  for (let i = a.start; i < end; i++) {
    if ((buf[i] as number) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (!ascii) return textDecoder.decode(buf.subarray(a.start, end));
  let s = '';
  for (let i = a.start; i < end; i++) s += String.fromCharCode(buf[i] as number);
  return s;
}
