// The applied-policy record as the string-building writer made it (src/records/state.ts and
// element-rows.ts at commit 9c9c396), kept verbatim as a test-only reference: records on disk
// are in this format, so the byte-building writer must produce the same file and digest.

import { createHash } from 'node:crypto';
import type { CompiledPolicy, KeyPart, ObjectMap, Ruleset } from '../../src/compile/ir.js';
import type { AppliedRecord } from '../../src/records/state.js';
import type { Span } from '../../src/policy/span.js';

interface MapRows {
  readonly objects: readonly string[];
  readonly keys: string;
  readonly spans: string;
}

/** The rows of a map as strings (newline-separated), as format 2 stores them after JSON unescaping. */
export function referenceRows(map: ObjectMap): MapRows | undefined {
  const file = map.span.file;
  const objectIndex = new Map<string, number>();
  const partText = new Map<KeyPart, string>();
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

function replacer(this: unknown, _key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { $hex: Buffer.from(value).toString('hex') } : value;
}

function storedMap(map: ObjectMap): unknown {
  const rows = referenceRows(map);
  if (!rows) return map;
  const stored: Record<string, unknown> = { ...map, rows };
  delete stored['elements'];
  return stored;
}

function storedRuleset(ruleset: Ruleset): unknown {
  return { ...ruleset, maps: ruleset.maps.map(storedMap) };
}

function storedDigest(ruleset: unknown, module: unknown): string {
  const rows: string[] = [];
  const strip = (key: string, value: unknown): unknown => {
    if (key === 'span' || key === 'spans' || key === 'source' || key === 'peer') return undefined;
    if (key === 'keys' && typeof value === 'string') return { $rows: rows.push(value) - 1 };
    return replacer.call(undefined, key, value);
  };
  const hash = createHash('sha256').update(JSON.stringify({ ruleset, module }, strip));
  for (const text of rows) hash.update(`\n${text.length}\n`).update(text);
  return hash.digest('hex');
}

/** The digest format 2 declares for a compiled policy. */
export function referenceDigest(compiled: CompiledPolicy): string {
  return storedDigest(storedRuleset(compiled.ruleset), compiled.module);
}

/** The bytes of a format 2 record file. */
export function referenceFile(record: AppliedRecord): Buffer {
  return Buffer.from(JSON.stringify({ ...record, ruleset: storedRuleset(record.ruleset) }, replacer) + '\n', 'utf8');
}
