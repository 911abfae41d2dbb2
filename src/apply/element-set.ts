// A map's elements as `status` compares them (drift.ts), for the live table and for what a record
// or policy loads: each element's key (and key end, for a range) as the kernel holds it, and what
// it maps to. Folded straight from NEWSETELEM messages, as a dump's datagrams arrive, into typed
// arrays with a hash index: no object or string per element. An IPv4 element of an exact map
// takes 34 bytes (identity 14, offset, value and hash 4 each, two index slots 8), arrays grown
// by doubling; decoded objects and their text took ~60 times that (bench/RESULTS.md, "Measurements behind the code").

import { randomBytes } from 'node:crypto';
import { AttrSet } from '../netlink/wire/attributes.js';
import type { NetlinkMessage } from '../netlink/wire/message.js';
import { decodeSetElem, decodeSetElemListHeader, scanSetElems, type SetElemListHeader, type SetElemSlices } from '../netlink/nft/set-elem.js';
import type { NftData } from '../netlink/nft/expr/types.js';
import type { AddrPart, KeyPart } from '../compile/ir.js';
import { keyText as partsText } from '../emit/element-text.js';
import { bytesToBigint, exactPrefix } from '../policy/address.js';

const textDecoder = new TextDecoder('utf-8', { fatal: false });
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * The hash's starting value, per process: the live side is whatever is in the kernel, and keys
 * made to collide under a fixed hash would make every lookup a scan.
 */
const SEED = randomBytes(4).readUInt32LE(0);

/** FNV-1a over bytes[start, end), from SEED. */
function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = SEED;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function sameBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

/** What drift shows for a data map's element: its NFTA_SET_ELEM_DATA as JSON, value bytes in hex. */
function dataText(data: NftData | undefined): string {
  // As drift's json(): `undefined` for an element of a plain set (no object, no data).
  if (data === undefined) return 'undefined';
  return 'value' in data ? JSON.stringify({ value: hex(data.value) }) : JSON.stringify(data);
}

/**
 * Our keys as nft prints them (emit/element-text.ts): `192.0.2.10 . tcp . 3128` for address .
 * inet_proto . inet_service, `tcp . 80` for the port maps' inet_proto . inet_service (each field
 * padded to 4 bytes); other keys in hex.
 */
function keyText(start: Uint8Array, end: Uint8Array): string {
  if (start.length !== 8 && start.length !== 12 && start.length !== 24) return `${hex(start)}-${hex(end)}`;
  const addrLen = start.length - 8;
  const port = (b: Uint8Array): number => (b[addrLen + 4]! << 8) | b[addrLen + 5]!;
  const parts: KeyPart[] = [
    { kind: 'proto', value: start[addrLen]! },
    { kind: 'port', from: port(start), to: port(end) },
  ];
  if (addrLen > 0) parts.unshift(addrPart(start.subarray(0, addrLen), end.subarray(0, addrLen)));
  return partsText(parts);
}

function addrPart(start: Uint8Array, end: Uint8Array): AddrPart {
  const family = start.length === 4 ? 'ipv4' : 'ipv6';
  return { kind: 'addr', family, start, end, prefixLength: exactPrefix(family, bytesToBigint(start), bytesToBigint(end)) };
}

/** An element of one set (index `expected`) missing from the other (`live` -1) or mapped to another value there. */
export interface ElementDifference {
  readonly expected: number;
  readonly live: number;
}

/**
 * The elements of one map. An element is its identity (key length as u16, the key, and the key
 * end when it has one that differs from its key: a range) and its value (the object's name, or a
 * data map's data as text). Two elements with the same identity are one: the later value wins,
 * the place is the first's, as in the Map of text that drift kept before.
 */
export class ElementSet {
  /** Identities back to back; element i's is bytes[starts[i], starts[i + 1]). */
  private bytes = new Uint8Array(1024);
  private starts = new Uint32Array(65);
  private valueOf = new Uint32Array(64);
  private hashOf = new Uint32Array(64);
  /** Open addressing, linear probing: element index + 1, 0 for a free slot. */
  private slots = new Int32Array(128);
  private readonly values: string[] = [];
  private readonly valueIds = new Map<string, number>();
  /** Object names by the hash of their bytes (checked against objrefBytes): no string per element. */
  private readonly objrefIds = new Map<number, number>();
  private readonly objrefBytes: (Uint8Array | undefined)[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The elements of a NEWSETELEM message (a dump's reply, or a batch's message). */
  addMessage(msg: NetlinkMessage, header: SetElemListHeader = decodeSetElemListHeader(msg)): void {
    this.addElements(msg.buf, header.elementsStart, header.elementsEnd);
  }

  /** Element nests back to back in buf[start, end) (the inside of NFTA_SET_ELEM_LIST_ELEMENTS). */
  addElements(buf: Uint8Array, start: number, end: number): void {
    scanSetElems(buf, start, end, (e) => this.addSlices(e));
  }

  private addSlices(e: SetElemSlices): void {
    let value: number;
    if (e.objrefStart >= 0) value = this.objrefValue(e.buf, e.objrefStart, e.objrefEnd);
    else value = this.valueId(dataText(e.hasData ? decodeSetElem(new AttrSet(e.buf, e.nestStart, e.nestEnd)).data : undefined));
    this.add(e.buf, e.keyStart, e.keyEnd, e.keyEndStart, e.keyEndEnd, value);
  }

  private valueId(text: string): number {
    let id = this.valueIds.get(text);
    if (id === undefined) {
      id = this.values.push(text) - 1;
      this.valueIds.set(text, id);
    }
    return id;
  }

  private objrefValue(buf: Uint8Array, start: number, end: number): number {
    const h = hashBytes(buf, start, end);
    const id = this.objrefIds.get(h);
    if (id !== undefined) {
      const known = this.objrefBytes[id];
      if (known && sameBytes(known, 0, known.length, buf, start, end)) return id;
    }
    const text = textDecoder.decode(buf.subarray(start, end));
    const found = this.valueId(text);
    if (id === undefined) {
      this.objrefIds.set(h, found);
      this.objrefBytes[found] = buf.slice(start, end);
    }
    return found;
  }

  /** Key bytes buf[keyStart, keyEnd) (-1: none), key end likewise, and a value id. */
  private add(buf: Uint8Array, keyStart: number, keyEnd: number, endStart: number, endEnd: number, value: number): void {
    const keyLen = keyStart < 0 ? 0 : keyEnd - keyStart;
    const range = endStart >= 0 && !(keyStart >= 0 && sameBytes(buf, keyStart, keyEnd, buf, endStart, endEnd));
    const endLen = range ? endEnd - endStart : 0;
    const i = this.count;
    const at = this.starts[i]!;
    const need = at + 2 + keyLen + endLen;
    if (need > this.bytes.length) this.bytes = grown(this.bytes, need);
    const bytes = this.bytes;
    bytes[at] = keyLen & 0xff;
    bytes[at + 1] = keyLen >>> 8;
    // Keys are a few bytes: a loop, not a subarray view per copy.
    for (let k = 0; k < keyLen; k++) bytes[at + 2 + k] = buf[keyStart + k]!;
    for (let k = 0; k < endLen; k++) bytes[at + 2 + keyLen + k] = buf[endStart + k]!;
    const h = hashBytes(bytes, at, need);
    const same = this.find(bytes, at, need, h);
    if (same >= 0) {
      this.valueOf[same] = value;
      return;
    }
    if (i === this.valueOf.length) {
      this.valueOf = grown(this.valueOf, i + 1);
      this.hashOf = grown(this.hashOf, i + 1);
      this.starts = grown(this.starts, this.valueOf.length + 1);
    }
    this.starts[i + 1] = need;
    this.valueOf[i] = value;
    this.hashOf[i] = h;
    this.count = i + 1;
    if (2 * this.count > this.slots.length) this.rehash(2 * this.slots.length);
    else this.place(i);
  }

  private place(i: number): void {
    const mask = this.slots.length - 1;
    let slot = this.hashOf[i]! & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = i + 1;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    for (let i = 0; i < this.count; i++) this.place(i);
  }

  /** Index of the element whose identity is bytes[start, end) with hash h, or -1. */
  private find(bytes: Uint8Array, start: number, end: number, h: number): number {
    const mask = this.slots.length - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return -1;
      const j = entry - 1;
      if (this.hashOf[j] === h && sameBytes(this.bytes, this.starts[j]!, this.starts[j + 1]!, bytes, start, end)) return j;
    }
  }

  /** Index here of `other`'s element i (same identity), or -1. */
  private indexOf(other: ElementSet, i: number): number {
    return this.find(other.bytes, other.starts[i]!, other.starts[i + 1]!, other.hashOf[i]!);
  }

  /**
   * Every element of `expected` looked up here, in its order: those missing here or mapped to
   * another value, at most `limit`, and which elements here were found. One pass over `expected`
   * and no text: the text is made for what is reported only.
   */
  lookUp(expected: ElementSet, limit: number): { readonly differences: readonly ElementDifference[]; readonly found: Uint8Array; readonly foundCount: number } {
    const differences: ElementDifference[] = [];
    const found = new Uint8Array(this.count);
    let foundCount = 0;
    // Value ids of `expected` as ids here (-1: a value not used here), made once per value.
    const valueHere = new Int32Array(expected.values.length).fill(-2);
    for (let i = 0; i < expected.count && differences.length < limit; i++) {
      const j = this.indexOf(expected, i);
      if (j < 0) {
        differences.push({ expected: i, live: -1 });
        continue;
      }
      if (found[j] === 0) foundCount++;
      found[j] = 1;
      const v = expected.valueOf[i]!;
      if (valueHere[v] === -2) valueHere[v] = this.valueIds.get(expected.values[v]!) ?? -1;
      if (valueHere[v] !== this.valueOf[j]) differences.push({ expected: i, live: j });
    }
    return { differences, found, foundCount };
  }

  /** What element i maps to: an object's name (or a data map's data as text). */
  value(i: number): string {
    return this.values[this.valueOf[i]!]!;
  }

  /** Element i's key as drift names it: `192.0.2.10 . 6 . 3128`, `192.0.2.0-192.0.2.15 . 17 . 1000-1999`. */
  keyText(i: number): string {
    const at = this.starts[i]!;
    const keyLen = this.bytes[at]! | (this.bytes[at + 1]! << 8);
    const key = this.bytes.subarray(at + 2, at + 2 + keyLen);
    const end = this.starts[i + 1]! > at + 2 + keyLen ? this.bytes.subarray(at + 2 + keyLen, this.starts[i + 1]!) : key;
    return keyText(key, end);
  }
}

/** A copy at least twice as large, and of at least `need` entries. */
function grown<T extends Uint8Array | Uint32Array>(array: T, need: number): T {
  const larger = new (array.constructor as new (n: number) => T)(Math.max(2 * array.length, need));
  larger.set(array);
  return larger;
}
