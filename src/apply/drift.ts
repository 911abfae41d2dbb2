// Drift between the live table and what a policy compiles to. The expected side is our own
// encoded batch decoded again, so both sides are compared in the kernel's terms; what only the
// kernel knows (handles, use counts, counter values, set ids) is left out of the comparison.
// Map elements are compared as ElementSets, by hash lookups; their text is made only for what
// is reported.

import type { ObjectMap, Ruleset } from '../compile/ir.js';
import { decodeMessage, isSetElemMessage } from '../netlink/decode/message.js';
import { encodeRuleset } from '../netlink/encode-ruleset.js';
import type { NftChain } from '../netlink/nft/chain.js';
import type { NftObj } from '../netlink/nft/obj.js';
import type { NftRule } from '../netlink/nft/rule.js';
import type { NftSet } from '../netlink/nft/set.js';
import { decodeSetElemListHeader } from '../netlink/nft/set-elem.js';
import { ElementWriter } from '../netlink/map-layout.js';
import { parseMessages } from '../netlink/wire/message.js';
import { NetlinkWriter } from '../netlink/wire/writer.js';
import { forEachRowElement, RowError, type MapRows } from '../records/element-rows.js';
import { ElementSet } from './element-set.js';
import type { RecordMap } from '../records/state.js';
import type { LiveTable } from './read-table.js';

export interface Drift {
  readonly kind: 'missing' | 'extra' | 'different';
  readonly what: string;
}

/** What expectedTable takes: a ruleset, whose maps may hold a record's rows instead of elements. */
export type ComparedRuleset = Omit<Ruleset, 'maps'> & { readonly maps: readonly RecordMap[] };

/**
 * The table as the kernel would hold it after applying `ruleset`. Maps given as rows have their
 * elements encoded 64 KiB at a time, straight from the rows, and folded into their ElementSet:
 * no object per element is kept, nor a batch of them all. RowError when a row is malformed (the
 * caller knows which record it came from).
 */
export function expectedTable(ruleset: ComparedRuleset): LiveTable {
  const { bytes } = encodeRuleset({ ...ruleset, maps: ruleset.maps.map((m) => ('rows' in m ? { ...withoutRows(m), elements: [] } : m)) }, { mode: 'replace' });
  const objects: NftObj[] = [];
  const sets = new Map<string, { set: NftSet; elements: ElementSet }>();
  const chains: NftChain[] = [];
  const rules: NftRule[] = [];
  for (const msg of parseMessages(bytes)) {
    if (isSetElemMessage(msg)) {
      const header = decodeSetElemListHeader(msg);
      sets.get(header.set)?.elements.addMessage(msg, header);
      continue;
    }
    const m = decodeMessage(msg);
    if (m.kind === 'obj') objects.push(m.obj);
    else if (m.kind === 'set') sets.set(m.set.name, { set: m.set, elements: new ElementSet() });
    else if (m.kind === 'chain') chains.push(m.chain);
    else if (m.kind === 'rule') rules.push(m.rule);
  }
  for (const m of ruleset.maps) {
    const target = sets.get(m.name);
    if ('rows' in m && target) addRows(target.elements, withoutRows(m), m.rows);
  }
  return { name: ruleset.table, objects, sets: [...sets.values()], chains, rules };
}

function withoutRows(m: Extract<RecordMap, { rows: unknown }>): Omit<ObjectMap, 'elements'> {
  const rest: Record<string, unknown> = { ...m };
  delete rest['rows'];
  return rest as unknown as Omit<ObjectMap, 'elements'>;
}

/** Bytes of element nests written before they are scanned into the set and the buffer reused. */
const ROWS_CHUNK_BYTES = 64 * 1024;

/** A map's elements from a record's rows, encoded as the batch encodes them (ElementWriter) and scanned back. */
function addRows(target: ElementSet, map: Omit<ObjectMap, 'elements'>, rows: MapRows): void {
  const writer = new ElementWriter({ ...map, elements: [] });
  let w = new NetlinkWriter(ROWS_CHUNK_BYTES + 1024);
  const flush = () => {
    target.addElements(w.buffer, 0, w.offset);
    w = new NetlinkWriter(ROWS_CHUNK_BYTES + 1024, w.buffer);
  };
  try {
    forEachRowElement(rows, map.span.file, (element) => {
      writer.write(w, 1, element);
      if (w.offset >= ROWS_CHUNK_BYTES) flush();
    });
  } catch (error) {
    // As readEntry's decoding reports a record whose rows or span are not what we write.
    if (error instanceof TypeError) throw new RowError(error.message);
    throw error;
  }
  flush();
}

/** Known only to the kernel, or counted by it: not part of what a policy decides. */
const IGNORED = new Set(['handle', 'use', 'setId', 'id', 'position', 'bytes', 'packets', 'userdata']);

const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex') : '');

function json(value: unknown): string {
  // `this[key]` is the value before toJSON: Buffers from the socket would otherwise arrive as {type, data}.
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    if (IGNORED.has(key)) return undefined;
    const raw = this[key];
    if (raw instanceof Uint8Array) return hex(raw);
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
}

function objectKey(o: NftObj): [string, string] {
  const value = o.data.kind === 'secmark' ? `secmark "${o.data.context}"` : o.data.kind;
  return [`object ${o.name}`, value];
}

/**
 * A table as entries `what` → value, in order: objects, maps, chains, rules. A map's elements
 * are its ElementSet, under the map's own `what`: they come right after it in the order drift is
 * listed (`map m`, then `map m element ...` for each element).
 */
interface Described {
  readonly entries: Map<string, string>;
  readonly elements: Map<string, ElementSet>;
}

function describeTable(t: LiveTable): Described {
  const entries = new Map<string, string>();
  const elements = new Map<string, ElementSet>();
  for (const o of t.objects) entries.set(...objectKey(o));
  for (const { set, elements: setElements } of t.sets) {
    const what = `map ${set.name}`;
    entries.set(what, json({ flags: set.flags, keyType: set.keyType, keyLen: set.keyLen, objType: set.objType }));
    elements.set(what, setElements);
  }
  for (const c of t.chains) entries.set(`chain ${c.name}`, json({ type: c.type, hook: c.hook, policy: c.policy }));
  const perChain = new Map<string, number>();
  for (const r of t.rules) {
    const index = perChain.get(r.chain) ?? 0;
    perChain.set(r.chain, index + 1);
    entries.set(`chain ${r.chain} rule ${index + 1}${r.comment ? ` (${r.comment})` : ''}`, json(r.expressions));
  }
  return { entries, elements };
}

/**
 * Missing and different entries in the expected order, then extra ones in the live order; at
 * most `limit` (sameTable needs one).
 */
function compareDescribed(expected: Described, live: Described, limit: number): Drift[] {
  const out: Drift[] = [];
  // Per map, which live elements the expected ones found: the others are extra.
  const found = new Map<string, { found: Uint8Array; foundCount: number }>();
  for (const [what, value] of expected.entries) {
    const actual = live.entries.get(what);
    if (actual === undefined) out.push({ kind: 'missing', what });
    else if (actual !== value) out.push({ kind: 'different', what: `${what}: expected ${value}, found ${actual}` });
    const mine = expected.elements.get(what);
    const theirs = live.elements.get(what);
    if (mine && theirs) {
      const looked = theirs.lookUp(mine, limit - out.length);
      for (const { expected: i, live: j } of looked.differences) {
        if (j < 0) out.push({ kind: 'missing', what: `${what} element ${mine.keyText(i)}` });
        else out.push({ kind: 'different', what: `${what} element ${mine.keyText(i)}: expected "${mine.value(i)}", found "${theirs.value(j)}"` });
      }
      found.set(what, looked);
    } else if (mine) {
      for (let i = 0; i < mine.size && out.length < limit; i++) out.push({ kind: 'missing', what: `${what} element ${mine.keyText(i)}` });
    }
    if (out.length >= limit) return out.slice(0, limit);
  }
  for (const what of live.entries.keys()) {
    if (!expected.entries.has(what)) out.push({ kind: 'extra', what });
    const theirs = live.elements.get(what);
    const seen = found.get(what);
    if (theirs && seen?.foundCount !== theirs.size) {
      for (let j = 0; j < theirs.size && out.length < limit; j++) if (!seen?.found[j]) out.push({ kind: 'extra', what: `${what} element ${theirs.keyText(j)}` });
    }
    if (out.length >= limit) return out.slice(0, limit);
  }
  return out;
}

/** Every difference, as a list a person can read; empty when the live table matches. */
export function compareTables(expected: LiveTable, live: LiveTable | undefined, limit = Infinity): Drift[] {
  if (!live) return [{ kind: 'missing', what: `table inet ${expected.name}` }];
  return compareDescribed(describeTable(expected), describeTable(live), limit);
}

/** Is `live` exactly what loading `ruleset` leaves (no table at all for undefined)? RowError as expectedTable. */
export function sameTable(ruleset: ComparedRuleset | undefined, live: LiveTable | undefined): boolean {
  if (ruleset === undefined || live === undefined) return ruleset === undefined && live === undefined;
  return compareTables(expectedTable(ruleset), live, 1).length === 0;
}
