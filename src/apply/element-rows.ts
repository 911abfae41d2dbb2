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

import type { AddrPart, KeyPart, MapElement, ObjectMap } from '../compile/ir.js';
import type { Span } from '../policy/span.js';

/** An object map with its elements as rows. */
export interface MapRows {
  /** Objects the rows refer to by index. */
  readonly objects: readonly string[];
  readonly keys: string;
  readonly spans: string;
}

/** Undefined when an element's span is in another file than the map's (then JSON elements are kept). */
export function mapToRows(map: ObjectMap): MapRows | undefined {
  const file = map.span.file;
  const objectIndex = new Map<string, number>();
  const partText = new Map<KeyPart, string>();
  // Elements share their parts and spans (a peer × its ports): text is made once per part, per
  // leading pair of parts, and per span, not once per element.
  const leadText = new Map<KeyPart, Map<KeyPart, string>>();
  const spanText = new Map<Span, string>();
  const text = (part: KeyPart): string => {
    let t = partText.get(part);
    if (t === undefined) partText.set(part, (t = encodePart(part)));
    return t;
  };
  const keys = new Array<string>(map.elements.length);
  const spans = new Array<string>(map.elements.length);
  for (let i = 0; i < map.elements.length; i++) {
    const e = map.elements[i]!;
    const span = e.span;
    if (span.file !== file) return undefined;
    let index = objectIndex.get(e.object);
    if (index === undefined) objectIndex.set(e.object, (index = objectIndex.size));
    keys[i] = `${partsText(e.parts, text, leadText)} ${index}`;
    let st = spanText.get(span);
    if (st === undefined) spanText.set(span, (st = `${span.line}:${span.col}:${span.endLine}:${span.endCol}`));
    spans[i] = st;
  }
  return { objects: [...objectIndex.keys()], keys: keys.join('\n'), spans: spans.join('\n') };
}

/** `a...,p6,s80`: the first two parts' text cached as a pair (an address with its protocol). */
function partsText(parts: readonly KeyPart[], text: (part: KeyPart) => string, leadText: Map<KeyPart, Map<KeyPart, string>>): string {
  if (parts.length < 2) return parts.map(text).join(',');
  const [first, second] = parts as [KeyPart, KeyPart];
  let bySecond = leadText.get(first);
  if (!bySecond) leadText.set(first, (bySecond = new Map()));
  let lead = bySecond.get(second);
  if (lead === undefined) bySecond.set(second, (lead = `${text(first)},${text(second)}`));
  let out = lead;
  for (let k = 2; k < parts.length; k++) out += `,${text(parts[k]!)}`;
  return out;
}

function encodePart(part: KeyPart): string {
  switch (part.kind) {
    case 'addr': {
      const start = Buffer.from(part.start).toString('hex');
      const end = Buffer.from(part.end).toString('hex');
      return `a${start}${end === start ? '' : `-${end}`}${part.prefixLength === undefined ? '' : `/${part.prefixLength}`}`;
    }
    case 'proto':
      return `p${part.value}`;
    case 'port':
      return `s${part.from}${part.to === part.from ? '' : `-${part.to}`}`;
  }
}

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
