// Map elements in applied-policy records, one short text row each instead of a JSON object.
// A record is written at every apply: as JSON objects, large tables cost two JSON.stringify
// passes (record and digest) over a large string, much of a whole apply; as rows they are a
// fraction of the bytes, built and hashed once (bench/RESULTS.md, "Measurements behind the code"). Rows carry what the IR element holds and nothing else,
// and read back to an equal element (test/state.test.ts: the batch encodes to the same bytes).
//
//   keys:  one row per element: `<part>,<part>,... <object index>`, parts
//          `a<hex start>[-<hex end>][/<prefix length>]`, `p<protocol>`, `s<from>[-<to>]`
//   spans: one row per element: `<line>:<col>:<endLine>:<endCol>`, in the map's file
//
// An element's span (its port entry) is kept, its `peer` note is not: a record loaded at boot or
// by a rollback that the kernel refuses is reported at the port entry, without the note.
//
// Keys and spans are kept apart so that the digest (content identity) covers the keys only.

import type { AddrPart, KeyField, KeyPart, MapElement, ObjectMap } from '../compile/ir.js';
import type { Span } from '../policy/span.js';
import { SecmarkcError } from '../errors.js';

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
  readonly keys: KeyRows;
  readonly spans: EscapedRows;
}

// Writing: rows go straight into byte buffers in the form the record file holds them. Strings per
// row, their join, a JSON escape of it and UTF-8 copies for the hash and the file touched several
// times the bytes written, and every fresh page costs a fault (bench/RESULTS.md, "Measurements behind the code").

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
const DIGIT_0 = 0x30;

/**
 * Rows as the bytes between the quotes of a JSON string: ASCII from ROW_TEXT, rows separated by
 * the two characters `\n`. The record file splices them in as they are.
 */
export class EscapedRows {
  constructor(readonly bytes: Buffer) {}
}

/**
 * Key rows, also as text (real newlines, as MapRows holds them after JSON.parse): what the digest
 * reads. ASCII, so its byte length is the string's length.
 */
export class KeyRows extends EscapedRows {
  constructor(
    bytes: Buffer,
    readonly text: Buffer,
  ) {
    super(bytes);
  }
}

/** Longest text of a part per key field (a range with a prefix length), for the buffer estimate. */
const PART_BOUND: Record<KeyField, number> = { ipv4_addr: 1 + 8 + 1 + 8 + 4, ipv6_addr: 1 + 32 + 1 + 32 + 4, inet_proto: 1 + 3, inet_service: 1 + 5 + 1 + 5 };
/** Longest `line:col:endLine:endCol`: four safe integers and three colons. */
const SPAN_ROW_BOUND = 4 * 16 + 3;
/** The separator between rows, escaped (file) and as text (digest). */
const SEPARATOR = 2;

/**
 * Undefined when an element's span is in another file than the map's (then JSON elements are kept).
 *
 * One pass, bytes copied in place: the text of each key part is made once per part object (the
 * compiler shares them: a peer × its ports) and of each object reference once per object; a span
 * row is copied from the row before when the element has the same span object. Key rows go to
 * two buffers at once, escaped for the file and as text for the digest, so neither is a second
 * pass over the other. Copies are native (TypedArray set): the CLI runs this in V8's interpreter
 * and baseline tiers, where a loop over bytes costs ~2.5x more (measured at 10,000 elements).
 */
export function mapToRowBytes(map: ObjectMap): MapRowBytes | undefined {
  const file = map.span.file;
  const elements = map.elements;
  const n = elements.length;
  const objectBytes = new Map<string, Buffer>(); // ` <index>`, indices in order of first use
  const partBytes = new Map<KeyPart, Buffer>();
  const keyRowBound = map.key.reduce((sum, field) => sum + PART_BOUND[field] + 1, 0) + 1 + 16 + SEPARATOR;
  // Sized for the longest rows and not zero-filled: pages the rows never reach are never touched
  // (a row is rarely a third of its bound). Growth is only a safety net.
  let keys: Buffer = Buffer.allocUnsafe(Math.max(64, keyRowBound * n));
  let text: Buffer = Buffer.allocUnsafe(keys.length);
  let spans: Buffer = Buffer.allocUnsafe(Math.max(64, (SPAN_ROW_BOUND + SEPARATOR) * n));
  let k = 0; // keys
  let t = 0; // text
  let s = 0; // spans
  let lastSpan: Span | undefined;
  let lastSpanStart = 0;
  let lastSpanEnd = 0;
  for (let i = 0; i < n; i++) {
    const e = elements[i]!;
    const span = e.span;
    if (span.file !== file) return undefined;
    if (k + keyRowBound > keys.length) {
      keys = grown(keys, k, keyRowBound);
      text = grown(text, t, keyRowBound);
    }
    if (s + SPAN_ROW_BOUND + SEPARATOR > spans.length) spans = grown(spans, s, SPAN_ROW_BOUND + SEPARATOR);
    if (i > 0) {
      keys[k++] = BACKSLASH;
      keys[k++] = LETTER_N;
      text[t++] = NEWLINE;
      spans[s++] = BACKSLASH;
      spans[s++] = LETTER_N;
    }
    // `<part>,<part>,... <object index>`
    const parts = e.parts;
    for (let p = 0; p < parts.length; p++) {
      if (p > 0) {
        keys[k++] = COMMA;
        text[t++] = COMMA;
      }
      const part = parts[p]!;
      let bytes = partBytes.get(part);
      if (bytes === undefined) partBytes.set(part, (bytes = partText(part)));
      keys.set(bytes, k);
      k += bytes.length;
      text.set(bytes, t);
      t += bytes.length;
    }
    let object = objectBytes.get(e.object);
    if (object === undefined) objectBytes.set(e.object, (object = Buffer.from(` ${objectBytes.size}`, 'latin1')));
    keys.set(object, k);
    k += object.length;
    text.set(object, t);
    t += object.length;
    // `<line>:<col>:<endLine>:<endCol>`
    if (span === lastSpan) {
      spans.copyWithin(s, lastSpanStart, lastSpanEnd);
      s += lastSpanEnd - lastSpanStart;
    } else {
      lastSpan = span;
      lastSpanStart = s;
      s = putDecimal(spans, s, span.line);
      spans[s++] = COLON;
      s = putDecimal(spans, s, span.col);
      spans[s++] = COLON;
      s = putDecimal(spans, s, span.endLine);
      spans[s++] = COLON;
      s = putDecimal(spans, s, span.endCol);
      lastSpanEnd = s;
    }
  }
  return {
    objects: [...objectBytes.keys()],
    keys: new KeyRows(keys.subarray(0, k), text.subarray(0, t)),
    spans: new EscapedRows(spans.subarray(0, s)),
  };
}

/** A buffer twice as large (at least `need` bytes free after `used`), holding the first `used` bytes. */
function grown(bytes: Buffer, used: number, need: number): Buffer {
  const larger = Buffer.allocUnsafe(Math.max(bytes.length * 2, used + need));
  bytes.copy(larger, 0, 0, used);
  return larger;
}

/** `${n}` for a non-negative integer at `at`, without the string; returns the end. */
function putDecimal(bytes: Buffer, at: number, n: number): number {
  rowNumber(n);
  let digits = 1;
  for (let power = 10; power <= n; power *= 10) digits++;
  const end = at + digits;
  let pos = end;
  // (n - digit) / 10 divides exactly: a small integer in every tier, where Math.floor(n / 10)
  // allocates a heap number per digit in the baseline tiers.
  do {
    const digit = n % 10;
    bytes[--pos] = DIGIT_0 + digit;
    n = (n - digit) / 10;
  } while (n > 0);
  return end;
}

/** A key part's row text as bytes: `a<hex start>[-<hex end>][/<prefix length>]`, `p<protocol>` or `s<from>[-<to>]`. */
function partText(part: KeyPart): Buffer {
  let text: string;
  switch (part.kind) {
    case 'addr': {
      const start = Buffer.from(part.start).toString('hex');
      const end = Buffer.from(part.end).toString('hex');
      text = `a${start}${end === start ? '' : `-${end}`}${part.prefixLength === undefined ? '' : `/${part.prefixLength}`}`;
      break;
    }
    case 'proto':
      text = `p${rowNumber(part.value)}`;
      break;
    case 'port':
      text = `s${rowNumber(part.from)}${part.to === part.from ? '' : `-${rowNumber(part.to)}`}`;
      break;
  }
  // The file splices row bytes in unescaped: refuse anything JSON would escape.
  if (!ROW_TEXT.test(text)) throw new Error(`internal error: map row text "${text}" has characters a record cannot hold unescaped`);
  return Buffer.from(text, 'latin1');
}

/** `n` if it is a non-negative safe integer (a row holds its digits and nothing else); an internal error otherwise. */
function rowNumber(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`internal error: ${n} in a map row is not a non-negative integer`);
  return n;
}

// Reading: rows as JSON.parse gives them back, text with real newlines.

export class RowError extends SecmarkcError {
  constructor(message: string) {
    super('SMC120', message);
  }
}

/** The elements back from rows; RowError on anything malformed. */
export function rowsToElements(rows: MapRows, file: string): MapElement[] {
  const out: MapElement[] = [];
  forEachRowElement(rows, file, (e) => void out.push(e));
  return out;
}

/**
 * The elements back from rows one at a time, none kept (status compares a record with the kernel
 * without an object per element held: see drift.ts). RowError on anything malformed, when the
 * row is reached; the row counts are checked before the first.
 */
export function forEachRowElement(rows: MapRows, file: string, visit: (element: MapElement) => void): void {
  walkRows(rows, file, visit);
}

/**
 * Rows checked as forEachRowElement reads them (RowError on the first malformed one), with no
 * element made: a record is checked at every apply, and 100,000 elements made only to be
 * dropped are garbage to collect.
 */
export function checkRows(rows: MapRows, file: string): void {
  walkRows(rows, file, undefined);
}

function walkRows(rows: MapRows, file: string, visit: ((element: MapElement) => void) | undefined): void {
  const { keys, spans } = rows;
  const count = rowCount(keys);
  if (count !== rowCount(spans)) throw new RowError(`${count} key rows but ${rowCount(spans)} span rows`);
  // Parts and spans are decoded once per distinct text and shared, as the compiler shares them.
  // Rows are read in place: a part whose text is the one at its place in the row before (rows
  // are sorted, so a peer's address runs on) is taken without a substring, and the rest with one
  // substring each (no per-row slice, split or array of texts: the CLI reads a record back in
  // V8's baseline tiers at every apply, where each of those allocations is garbage to collect).
  const parts = new Map<string, KeyPart>();
  const spanOf = new Map<string, Span>();
  const lastTexts: string[] = [];
  const lastParts: KeyPart[] = [];
  let lastSpanText = '';
  let lastSpan: Span | undefined;
  let k = 0;
  let s = 0;
  for (let i = 0; i < count; i++) {
    const keyEnd = i + 1 < count ? keys.indexOf('\n', k) : keys.length;
    const spanEnd = i + 1 < count ? spans.indexOf('\n', s) : spans.length;
    const space = keyEnd > k ? keys.lastIndexOf(' ', keyEnd - 1) : -1;
    const object = space < k ? undefined : rows.objects[rowIndex(keys, space + 1, keyEnd)];
    if (space < k || object === undefined) throw new RowError(`row ${i + 1}: no object`);
    // Made at its size (a push onto [] would give it room for 17), and only for a visitor.
    let elementParts: KeyPart[] | undefined;
    if (visit) {
      let partCount = 1;
      for (let c = keys.indexOf(',', k); c >= 0 && c < space; c = keys.indexOf(',', c + 1)) partCount++;
      elementParts = new Array<KeyPart>(partCount);
    }
    for (let from = k, p = 0; ; p++) {
      let to = keys.indexOf(',', from);
      if (to < 0 || to > space) to = space;
      const last = lastTexts[p];
      let part: KeyPart | undefined;
      if (last !== undefined && last.length === to - from && keys.startsWith(last, from)) part = lastParts[p]!;
      else {
        const text = keys.slice(from, to);
        part = parts.get(text);
        if (!part) parts.set(text, (part = decodePart(text, i)));
        lastTexts[p] = text;
        lastParts[p] = part;
      }
      if (elementParts) elementParts[p] = part;
      if (to === space) break;
      from = to + 1;
    }
    if (!visit) {
      // Checking only: a span row of plain numbers needs no text and no object.
      if (!plainSpan(spans, s, spanEnd)) decodeSpan(spans.slice(s, spanEnd), file, i);
    } else if (!lastSpan || spanEnd - s !== lastSpanText.length || !spans.startsWith(lastSpanText, s)) {
      lastSpanText = spans.slice(s, spanEnd);
      lastSpan = spanOf.get(lastSpanText);
      if (!lastSpan) spanOf.set(lastSpanText, (lastSpan = decodeSpan(lastSpanText, file, i)));
    }
    if (visit) visit({ parts: elementParts!, object, span: lastSpan! });
    k = keyEnd + 1;
    s = spanEnd + 1;
  }
}

const MAX_PLAIN_DIGITS = 15; // below 2^53: every such number is a safe integer

/** Number(text.slice(from, to)), without the substring when it is plain digits (the rows as written). */
function rowIndex(text: string, from: number, to: number): number {
  if (to - from < 1 || to - from > MAX_PLAIN_DIGITS) return Number(text.slice(from, to));
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return Number(text.slice(from, to));
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/** Is text[from, to) four fields of 1-15 digits separated by `:`? (decodeSpan accepts every such row.) */
function plainSpan(text: string, from: number, to: number): boolean {
  let fields = 1;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) {
      if (digits === 0 || ++fields > 4) return false;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (++digits > MAX_PLAIN_DIGITS) return false;
    } else return false;
  }
  return fields === 4 && digits > 0;
}

/** Rows in `text`, one per line; none in ''. */
function rowCount(text: string): number {
  if (text === '') return 0;
  let n = 1;
  for (let p = text.indexOf('\n'); p >= 0; p = text.indexOf('\n', p + 1)) n++;
  return n;
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
      start: hexBytes(start),
      end: hexBytes(end),
      ...(m[3] === undefined ? {} : { prefixLength: Number(m[3]) }),
    };
    return part;
  }
  if ((m = PROTO.exec(text))) return { kind: 'proto', value: Number(m[1]) };
  if ((m = PORT.exec(text))) return { kind: 'port', from: Number(m[1]), to: Number(m[2] ?? m[1]) };
  throw new RowError(`row ${i + 1}: "${text}" is not a key part`);
}

/** Hex digits (checked by ADDR: lower case, an even number) as bytes. */
function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (hexDigit(hex.charCodeAt(2 * i)) << 4) | hexDigit(hex.charCodeAt(2 * i + 1));
  return out;
}

function hexDigit(code: number): number {
  return code <= 0x39 ? code - 0x30 : code - 0x57;
}

function decodeSpan(text: string, file: string, i: number): Span {
  const n = text.split(':').map(Number);
  if (n.length !== 4 || !n.every((v) => Number.isInteger(v) && v >= 0)) throw new RowError(`row ${i + 1}: bad span "${text}"`);
  return { file, line: n[0]!, col: n[1]!, endLine: n[2]!, endCol: n[3]! };
}
