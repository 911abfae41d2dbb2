// Map elements in applied-policy records, one short text row each instead of a JSON object.
// A record is written at every apply: as JSON objects 100,000 elements were 28 MB and two
// JSON.stringify passes (record and digest), seconds of a whole apply; as rows they are a few MB
// built and hashed in tens of milliseconds. Rows carry what the IR element holds and nothing else,
// and read back to an equal element (test/state.test.ts: the batch encodes to the same bytes).
//
//   keys:  one row per element: `<part>,<part>,... <object index>`, parts
//          `a<hex start>[-<hex end>][/<prefix length>]`, `p<protocol>`, `s<from>[-<to>]`
//   spans: one row per element: `<line>:<col>:<endLine>:<endCol>`, in the map's file
//
// Keys and spans are kept apart so that the digest (content identity) covers the keys only.

import type { Hash } from 'node:crypto';
import type { AddrPart, KeyField, KeyPart, MapElement, ObjectMap } from '../compile/ir.js';
import type { Span } from '../policy/span.js';

/** An object map with its elements as rows, as read back from a record (JSON-unescaped). */
export interface MapRows {
  /** Objects the rows refer to by index. */
  readonly objects: readonly string[];
  readonly keys: string;
  readonly spans: string;
}

/** An object map with its elements as rows, as written: the rows as JSON string content. */
export interface MapRowBytes {
  readonly objects: readonly string[];
  readonly keys: EscapedRows;
  readonly spans: EscapedRows;
}

// Writing: rows go straight into byte buffers in the form the record file holds them. At 100,000
// elements, strings per row, their join, a JSON escape of it and UTF-8 copies for the hash and the
// file touched ~35 MB to write ~4 MB, and on these machines every fresh page costs a fault.

/**
 * Every character row text can hold: none of them needs a JSON escape (the newline between rows
 * is escaped apart). Rows are written from digits and the constants below, and address text,
 * which is checked against it.
 */
const ROW_TEXT = /^[-0-9a-f,ps/: ]*$/;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const LETTER_N = 0x6e;
const COMMA = 0x2c;
const COLON = 0x3a;
const DASH = 0x2d;
const SPACE = 0x20;
const LETTER_P = 0x70;
const LETTER_S = 0x73;
const DIGIT_0 = 0x30;

/**
 * Rows as the bytes between the quotes of a JSON string: ASCII from ROW_TEXT, rows separated by
 * the two characters `\n`. The record file splices them in as they are; the digest reads them
 * as text (real newlines), as MapRows holds them after JSON.parse.
 */
export class EscapedRows {
  constructor(
    readonly bytes: Buffer,
    readonly count: number,
  ) {}

  /** Length of the rows as text: each two-byte separator is one newline. */
  get textLength(): number {
    return this.count === 0 ? 0 : this.bytes.length - (this.count - 1);
  }

  /** Feed the rows as text to `hash`, unescaped through a small buffer rather than a copy of them all. */
  hashText(hash: Hash): void {
    const bytes = this.bytes;
    const chunk = Buffer.allocUnsafe(CHUNK);
    let n = 0;
    for (let i = 0; i < bytes.length; i++) {
      let b = bytes[i]!;
      if (b === BACKSLASH) {
        b = NEWLINE;
        i++; // the `n` of `\n`: ROW_TEXT has no other backslash
      }
      chunk[n++] = b;
      if (n === CHUNK) {
        hash.update(chunk);
        n = 0;
      }
    }
    if (n > 0) hash.update(chunk.subarray(0, n));
  }
}

const CHUNK = 16 * 1024;

/** Appends rows to one buffer, doubled when full; sized from an upper bound so that is rare. */
class RowWriter {
  private bytes: Buffer;
  private length = 0;
  private count = 0;

  constructor(estimate: number) {
    // Not zero-filled: pages the rows never reach are never touched.
    this.bytes = Buffer.allocUnsafe(Math.max(estimate, 64));
  }

  startRow(): void {
    if (this.count++ === 0) return;
    this.room(2);
    this.bytes[this.length++] = BACKSLASH;
    this.bytes[this.length++] = LETTER_N;
  }

  put(text: Uint8Array): void {
    this.room(text.length);
    const bytes = this.bytes;
    let at = this.length;
    for (let j = 0; j < text.length; j++) bytes[at++] = text[j]!;
    this.length = at;
  }

  putByte(byte: number): void {
    this.room(1);
    this.bytes[this.length++] = byte;
  }

  /** `${n}` for a non-negative integer, without the string. */
  putDecimal(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`internal error: ${n} in a map row is not a non-negative integer`);
    let digits = 1;
    for (let power = 10; power <= n; power *= 10) digits++;
    this.room(digits);
    let at = (this.length += digits);
    // (n - digit) / 10 divides exactly: a small integer in every tier, where Math.floor(n / 10)
    // allocates a heap number per digit in the baseline tiers (~2 MB at 10,000 elements).
    do {
      const digit = n % 10;
      this.bytes[--at] = DIGIT_0 + digit;
      n = (n - digit) / 10;
    } while (n > 0);
  }

  finish(): EscapedRows {
    return new EscapedRows(this.bytes.subarray(0, this.length), this.count);
  }

  private room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.length + n));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }
}

/** Longest text of a part per key field (a range with a prefix length), for the buffer estimate. */
const PART_BOUND: Record<KeyField, number> = { ipv4_addr: 1 + 8 + 1 + 8 + 4, ipv6_addr: 1 + 32 + 1 + 32 + 4, inet_proto: 1 + 3, inet_service: 1 + 5 + 1 + 5 };
/** `line:col:endLine:endCol` and its separator, for lines up to 6 digits and columns up to 3. */
const SPAN_ROW_ESTIMATE = 6 + 1 + 3 + 1 + 6 + 1 + 3 + 2;

/** Undefined when an element's span is in another file than the map's (then JSON elements are kept). */
export function mapToRowBytes(map: ObjectMap): MapRowBytes | undefined {
  const file = map.span.file;
  const n = map.elements.length;
  const objectIndex = new Map<string, number>();
  const keyBound = map.key.reduce((sum, field) => sum + PART_BOUND[field] + 1, 0) + String(n).length + 2;
  const keys = new RowWriter(n * keyBound);
  const spans = new RowWriter(n * SPAN_ROW_ESTIMATE);
  // Numbers are written as digits in place. Addresses (hex) are made once per address object:
  // elements share them (a peer × its ports), and sorted elements come in runs of one.
  const addrBytes = new Map<AddrPart, Buffer>();
  let lastAddr: AddrPart | undefined;
  let lastAddrBytes: Buffer | undefined;
  let lastObject: string | undefined;
  let lastIndex = 0;
  for (let i = 0; i < n; i++) {
    const e = map.elements[i]!;
    const span = e.span;
    if (span.file !== file) return undefined;
    if (e.object !== lastObject) {
      lastObject = e.object;
      let index = objectIndex.get(e.object);
      if (index === undefined) objectIndex.set(e.object, (index = objectIndex.size));
      lastIndex = index;
    }
    // `<part>,<part>,... <object index>`
    keys.startRow();
    const parts = e.parts;
    for (let k = 0; k < parts.length; k++) {
      if (k > 0) keys.putByte(COMMA);
      const part = parts[k]!;
      switch (part.kind) {
        case 'addr':
          if (part !== lastAddr) {
            lastAddr = part;
            lastAddrBytes = addrBytes.get(part);
            if (lastAddrBytes === undefined) addrBytes.set(part, (lastAddrBytes = addrText(part)));
          }
          keys.put(lastAddrBytes!);
          break;
        case 'proto':
          keys.putByte(LETTER_P);
          keys.putDecimal(part.value);
          break;
        case 'port':
          keys.putByte(LETTER_S);
          keys.putDecimal(part.from);
          if (part.to !== part.from) {
            keys.putByte(DASH);
            keys.putDecimal(part.to);
          }
          break;
      }
    }
    keys.putByte(SPACE);
    keys.putDecimal(lastIndex);
    // `<line>:<col>:<endLine>:<endCol>`
    spans.startRow();
    spans.putDecimal(span.line);
    spans.putByte(COLON);
    spans.putDecimal(span.col);
    spans.putByte(COLON);
    spans.putDecimal(span.endLine);
    spans.putByte(COLON);
    spans.putDecimal(span.endCol);
  }
  return { objects: [...objectIndex.keys()], keys: keys.finish(), spans: spans.finish() };
}

/** `a<hex start>[-<hex end>][/<prefix length>]` as bytes, refused if JSON would escape any of it (the file splices it in unescaped). */
function addrText(part: AddrPart): Buffer {
  const start = Buffer.from(part.start).toString('hex');
  const end = Buffer.from(part.end).toString('hex');
  const text = `a${start}${end === start ? '' : `-${end}`}${part.prefixLength === undefined ? '' : `/${part.prefixLength}`}`;
  if (!ROW_TEXT.test(text)) throw new Error(`internal error: map row text "${text}" has characters a record cannot hold unescaped`);
  return Buffer.from(text, 'latin1');
}

// Reading: rows as JSON.parse gives them back, text with real newlines.

export class RowError extends Error {}

/** The elements back from rows; RowError on anything malformed. */
export function rowsToElements(rows: MapRows, file: string): MapElement[] {
  const keys = rows.keys === '' ? [] : rows.keys.split('\n');
  const spans = rows.spans === '' ? [] : rows.spans.split('\n');
  if (keys.length !== spans.length) throw new RowError(`${keys.length} key rows but ${spans.length} span rows`);
  const parts = new Map<string, KeyPart>();
  const out = new Array<MapElement>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const row = keys[i]!;
    const space = row.lastIndexOf(' ');
    const object = rows.objects[Number(row.slice(space + 1))];
    if (space < 0 || object === undefined) throw new RowError(`row ${i + 1}: no object`);
    const elementParts = row
      .slice(0, space)
      .split(',')
      .map((text) => {
        let part = parts.get(text);
        if (!part) parts.set(text, (part = decodePart(text, i)));
        return part;
      });
    out[i] = { parts: elementParts, object, span: decodeSpan(spans[i]!, file, i) };
  }
  return out;
}

const ADDR = /^a([0-9a-f]{8}|[0-9a-f]{32})(?:-([0-9a-f]{8}|[0-9a-f]{32}))?(?:\/(\d{1,3}))?$/;
const PROTO = /^p(\d{1,3})$/;
const PORT = /^s(\d{1,5})(?:-(\d{1,5}))?$/;

function decodePart(text: string, i: number): KeyPart {
  let m = ADDR.exec(text);
  if (m) {
    const start = m[1]!;
    const end = m[2] ?? start;
    if (end.length !== start.length) throw new RowError(`row ${i + 1}: address "${text}" mixes families`);
    const part: AddrPart = {
      kind: 'addr',
      family: start.length === 8 ? 'ipv4' : 'ipv6',
      start: Uint8Array.from(Buffer.from(start, 'hex')),
      end: Uint8Array.from(Buffer.from(end, 'hex')),
      ...(m[3] === undefined ? {} : { prefixLength: Number(m[3]) }),
    };
    return part;
  }
  if ((m = PROTO.exec(text))) return { kind: 'proto', value: Number(m[1]) };
  if ((m = PORT.exec(text))) return { kind: 'port', from: Number(m[1]), to: Number(m[2] ?? m[1]) };
  throw new RowError(`row ${i + 1}: "${text}" is not a key part`);
}

function decodeSpan(text: string, file: string, i: number): Span {
  const n = text.split(':').map(Number);
  if (n.length !== 4 || !n.every((v) => Number.isInteger(v) && v >= 0)) throw new RowError(`row ${i + 1}: bad span "${text}"`);
  return { file, line: n[0]!, col: n[1]!, endLine: n[2]!, endCol: n[3]! };
}
