// How an IR object map looks to the kernel: nft's key type id, the key length with each
// concatenated field padded to 4 bytes, and the element keys written straight from the IR
// into the batch buffer (the hot path: 100,000 elements, no allocation per element).

import type { KeyField, KeyPart, MapElement, ObjectMap } from '../compile/ir.js';
import { NFTA_DATA_VALUE, NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_KEY_END, NFT_SET_CONCAT, NFT_SET_INTERVAL, NFT_SET_OBJECT, TYPE_BITS, TYPE_INET_PROTOCOL, TYPE_INET_SERVICE, TYPE_IP6ADDR, TYPE_IPADDR } from './nft/constants.js';
import { NLA_HDRLEN } from './wire/constants.js';
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
  /** NFTA_SET_FLAGS: an interval object map over a concatenation (not NFT_SET_MAP: the
   * kernel refuses NFT_SET_MAP together with NFT_SET_OBJECT). */
  readonly flags: number;
  /** NFTA_SET_KEY_TYPE */
  readonly keyType: number;
  /** NFTA_SET_KEY_LEN */
  readonly keyLen: number;
  /** NFTA_SET_DESC_CONCAT field lengths (unpadded) */
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
  return { flags: NFT_SET_INTERVAL | NFT_SET_OBJECT | NFT_SET_CONCAT, keyType, keyLen, fieldLens };
}

/** Bytes of one element nest: KEY and KEY_END nests around NFTA_DATA_VALUE, then OBJREF. */
export function elementSize(keyLen: number, objrefBytes: number): number {
  return NLA_HDRLEN + 2 * (NLA_HDRLEN + NLA_HDRLEN + keyLen) + align4(NLA_HDRLEN + objrefBytes);
}

function checkElement(map: ObjectMap, element: MapElement): void {
  if (element.parts.length !== map.key.length) throw new Error(`map ${map.name}: element has ${element.parts.length} key parts, the key has ${map.key.length}`);
  for (let i = 0; i < map.key.length; i++) {
    const info = KEY_FIELDS[map.key[i] as KeyField];
    const part = element.parts[i] as KeyPart;
    if (part.kind !== info.part || (part.kind === 'addr' && (part.start.length !== info.len || part.end.length !== info.len))) {
      throw new Error(`map ${map.name}: key part ${i + 1} is not a ${map.key[i]}`);
    }
  }
}

function writeKey(w: NetlinkWriter, type: number, parts: readonly KeyPart[], keyLen: number, end: boolean): void {
  const nest = w.nestStart(type);
  // NFTA_DATA_VALUE header by hand: its length is known, and this runs twice per element.
  w.u16(NLA_HDRLEN + keyLen);
  w.u16(NFTA_DATA_VALUE);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as KeyPart;
    switch (part.kind) {
      case 'addr':
        w.raw(end ? part.end : part.start);
        break;
      case 'proto':
        w.u8(part.value);
        w.zeros(3);
        break;
      case 'port':
        w.be16(end ? part.to : part.from);
        w.zeros(2);
        break;
    }
  }
  w.nestEnd(nest);
}

/** The key (start and end of the interval) of one element, checked against the map's key. */
export function writeElementKeys(w: NetlinkWriter, map: ObjectMap, keyLen: number, element: MapElement): void {
  checkElement(map, element);
  writeKey(w, NFTA_SET_ELEM_KEY, element.parts, keyLen, false);
  writeKey(w, NFTA_SET_ELEM_KEY_END, element.parts, keyLen, true);
}
