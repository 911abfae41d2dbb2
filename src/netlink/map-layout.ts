// How an IR object map looks to the kernel: nft's key type id, the key length with each
// concatenated field padded to 4 bytes, and the element keys written straight from the IR
// into the batch buffer (the hot path: 100,000 elements, no allocation per element).

import type { AddrPart, KeyField, KeyPart, MapElement, ObjectMap, PortPart, ProtoPart } from '../compile/ir.js';
import { NFTA_DATA_VALUE, NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_KEY_END, NFTA_SET_ELEM_OBJREF, NFT_SET_CONCAT, NFT_SET_INTERVAL, NFT_SET_OBJECT, TYPE_BITS, TYPE_INET_PROTOCOL, TYPE_INET_SERVICE, TYPE_IP6ADDR, TYPE_IPADDR } from './nft/constants.js';
import { HOST_LITTLE_ENDIAN } from './wire/byte-order.js';
import { NLA_F_NESTED, NLA_HDRLEN, NLA_MAX_LEN } from './wire/constants.js';
import { align4, type NetlinkWriter } from './wire/writer.js';

interface FieldInfo {
  readonly type: number;
  readonly len: number;
  readonly part: KeyPart['kind'];
}

export const KEY_FIELDS: Readonly<Record<KeyField, FieldInfo>> = {
  ipv4_addr: { type: TYPE_IPADDR, len: 4, part: 'addr' },
  ipv6_addr: { type: TYPE_IP6ADDR, len: 16, part: 'addr' },
  inet_proto: { type: TYPE_INET_PROTOCOL, len: 1, part: 'proto' },
  inet_service: { type: TYPE_INET_SERVICE, len: 2, part: 'port' },
};

export interface MapLayout {
  /** NFTA_SET_FLAGS: an object map (not NFT_SET_MAP: the kernel refuses NFT_SET_MAP together
   * with NFT_SET_OBJECT); an interval one also over a concatenation, as nft sends it. nft sets
   * NFT_SET_CONCAT only with NFT_SET_INTERVAL, and so does the kernel's backend choice. */
  readonly flags: number;
  /** Elements carry NFTA_SET_ELEM_KEY_END (interval maps only). */
  readonly interval: boolean;
  /** NFTA_SET_KEY_TYPE */
  readonly keyType: number;
  /** NFTA_SET_KEY_LEN */
  readonly keyLen: number;
  /** NFTA_SET_DESC_CONCAT field lengths (unpadded); nft sends them for interval maps only
   * (they select the pipapo backend), and no NFTA_SET_DESC at all for an exact map. */
  readonly fieldLens: readonly number[];
}

export function mapLayout(map: ObjectMap): MapLayout {
  if (map.key.length < 2) throw new Error(`map ${map.name}: keys of one field are not supported (only concatenations)`);
  let keyType = 0;
  let keyLen = 0;
  const fieldLens: number[] = [];
  for (const f of map.key) {
    const info = KEY_FIELDS[f];
    keyType = (keyType << TYPE_BITS) | info.type;
    keyLen += align4(info.len);
    fieldLens.push(info.len);
  }
  const flags = map.interval ? NFT_SET_INTERVAL | NFT_SET_OBJECT | NFT_SET_CONCAT : NFT_SET_OBJECT;
  return { flags, interval: map.interval, keyType, keyLen, fieldLens };
}

const textEncoder = new TextEncoder();
const ADDR = 0;
const PROTO = 1;
const PORT = 2;

function putU16(buf: Uint8Array, p: number, v: number): void {
  if (HOST_LITTLE_ENDIAN) {
    buf[p] = v & 0xff;
    buf[p + 1] = v >>> 8;
  } else {
    buf[p] = v >>> 8;
    buf[p + 1] = v & 0xff;
  }
}

/**
 * Writes the elements of one map straight into the batch buffer (a fast path: its executable spec
 * is nft/set-elem.ts's plain encodeSetElem, and test/netlink/element-writer.test.ts holds the two
 * to the same bytes). The element nest is what
 * libnftnl sends: KEY { DATA_VALUE }, KEY_END { DATA_VALUE } (interval maps only), OBJREF
 * (NUL-terminated); each key field padded to 4 bytes, addresses as they are, protocol one byte,
 * port big-endian. All of a nest but its index and key values is the same for every element of
 * one object: it is copied from a template made once per object, and only those are written.
 * (The CLI runs this in V8's interpreter and baseline tiers, where each byte written by a JS
 * statement costs more than a native copy of the whole nest.)
 */
export class ElementWriter {
  readonly layout: MapLayout;
  private readonly kinds: readonly KeyPart['kind'][];
  private readonly lens: readonly number[];
  private readonly kindCodes: Int32Array;
  /** Offset of each key field's value from the start of the nest, per key (KEY, then KEY_END). */
  private readonly fieldOffsets: readonly Int32Array[];
  /** Object name → the element nest for it, key values zero, index 0. */
  private readonly templates = new Map<string, Uint8Array>();
  /** Per key field, the part checked last. */
  private readonly lastChecked: (KeyPart | undefined)[];
  /** The last template used: elements of one object often come in runs. */
  private lastObject: string | undefined;
  private lastTemplate: Uint8Array | undefined;

  constructor(private readonly map: ObjectMap) {
    this.layout = mapLayout(map);
    this.kinds = map.key.map((f) => KEY_FIELDS[f].part);
    this.lens = map.key.map((f) => KEY_FIELDS[f].len);
    this.kindCodes = Int32Array.from(this.kinds, (k) => (k === 'addr' ? ADDR : k === 'proto' ? PROTO : PORT));
    this.lastChecked = this.kinds.map(() => undefined);
    const keyBlock = 2 * NLA_HDRLEN + this.layout.keyLen;
    this.fieldOffsets = Array.from({ length: this.layout.interval ? 2 : 1 }, (_, end) => {
      const offsets = new Int32Array(this.lens.length);
      let p = NLA_HDRLEN + end * keyBlock + 2 * NLA_HDRLEN;
      this.lens.forEach((len, i) => {
        offsets[i] = p;
        p += align4(len);
      });
      return offsets;
    });
  }

  /** The nest for elements of `object`, made on first use. */
  private template(object: string): Uint8Array {
    let t = this.templates.get(object);
    if (t) return t;
    const encoded = textEncoder.encode(object);
    const size = elementSize(this.layout, encoded.length + 1);
    if (size > NLA_MAX_LEN) throw new Error(`map ${this.map.name}: element of ${size} bytes does not fit a netlink attribute`);
    t = new Uint8Array(size); // zero: key values, the name's NUL and padding
    const keyLen = this.layout.keyLen;
    putU16(t, 0, size);
    putU16(t, 2, NLA_F_NESTED);
    let p = NLA_HDRLEN;
    for (let end = 0; end < this.fieldOffsets.length; end++) {
      putU16(t, p, 2 * NLA_HDRLEN + keyLen);
      putU16(t, p + 2, (end ? NFTA_SET_ELEM_KEY_END : NFTA_SET_ELEM_KEY) | NLA_F_NESTED);
      putU16(t, p + 4, NLA_HDRLEN + keyLen);
      putU16(t, p + 6, NFTA_DATA_VALUE);
      p += 2 * NLA_HDRLEN + keyLen;
    }
    putU16(t, p, NLA_HDRLEN + encoded.length + 1);
    putU16(t, p + 2, NFTA_SET_ELEM_OBJREF);
    t.set(encoded, p + NLA_HDRLEN);
    this.templates.set(object, t);
    return t;
  }

  /**
   * Write the element as nest number `index` if it fits within `limit` (an offset in the
   * writer); returns its offset, or -1 (nothing written) when it does not fit.
   */
  write(w: NetlinkWriter, index: number, element: MapElement, limit = Infinity): number {
    this.check(element);
    let template = this.lastTemplate;
    if (element.object !== this.lastObject || !template) {
      template = this.lastTemplate = this.template(element.object);
      this.lastObject = element.object;
    }
    if (w.offset + template.length > limit) return -1;
    const at = w.claim(template.length);
    const buf = w.buffer;
    buf.set(template, at);
    putU16(buf, at + 2, index | NLA_F_NESTED);
    const parts = element.parts;
    const kinds = this.kindCodes;
    for (let end = 0; end < this.fieldOffsets.length; end++) {
      const offsets = this.fieldOffsets[end]!;
      for (let i = 0; i < parts.length; i++) {
        const p = at + offsets[i]!;
        // Branch on the key's field kind (checked above), not on part.kind: reading `kind` from
        // parts of four shapes at one site is a megamorphic load, the slowest part of this loop.
        const kind = kinds[i];
        if (kind === ADDR) {
          const part = parts[i] as AddrPart;
          const a = end ? part.end : part.start;
          // IPv4, the common case, without a call (a call costs more than four stores).
          if (a.length === 4) {
            buf[p] = a[0]!;
            buf[p + 1] = a[1]!;
            buf[p + 2] = a[2]!;
            buf[p + 3] = a[3]!;
          } else {
            buf.set(a, p);
          }
        } else if (kind === PROTO) {
          buf[p] = (parts[i] as ProtoPart).value;
        } else {
          const part = parts[i] as PortPart;
          const port = end ? part.to : part.from;
          buf[p] = port >>> 8;
          buf[p + 1] = port & 0xff;
        }
      }
    }
    return at;
  }

  private check(element: MapElement): void {
    const parts = element.parts;
    if (parts.length !== this.kinds.length) throw new Error(`map ${this.map.name}: element has ${parts.length} key parts, the key has ${this.kinds.length}`);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as KeyPart;
      // Parts are shared between elements (a peer's address, a protocol): one checked for the
      // element before needs no second look (its checks read `kind` from parts of four shapes).
      if (part === this.lastChecked[i]) continue;
      if (part.kind !== this.kinds[i] || (part.kind === 'addr' && (part.start.length !== this.lens[i] || part.end.length !== this.lens[i]))) {
        throw new Error(`map ${this.map.name}: key part ${i + 1} is not a ${this.map.key[i]}`);
      }
      if (!this.layout.interval && !isSingle(part)) throw new Error(`map ${this.map.name}: key part ${i + 1} is a range, the map is not an interval map`);
      this.lastChecked[i] = part;
    }
  }
}

/** Bytes of one element nest: the key (and key end), the object name with its NUL, padding. */
export function elementSize(layout: MapLayout, nameLenWithNul: number): number {
  return NLA_HDRLEN + (layout.interval ? 2 : 1) * (2 * NLA_HDRLEN + layout.keyLen) + align4(NLA_HDRLEN + nameLenWithNul);
}

function isSingle(part: KeyPart): boolean {
  if (part.kind === 'proto') return true;
  if (part.kind === 'port') return part.from === part.to;
  for (let j = 0; j < part.start.length; j++) if (part.start[j] !== part.end[j]) return false;
  return true;
}
