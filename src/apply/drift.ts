// Drift between the live table and what a policy compiles to. The expected side is our own
// encoded batch decoded again, so both sides are compared in the kernel's terms; what only the
// kernel knows (handles, use counts, counter values, set ids) is left out of the comparison.

import ipaddr from 'ipaddr.js';
import type { Ruleset } from '../compile/ir.js';
import { readReplies } from '../netlink/decode/replies.js';
import { encodeRuleset } from '../netlink/encode-ruleset.js';
import type { NftChain } from '../netlink/nft/chain.js';
import type { NftObj } from '../netlink/nft/obj.js';
import type { NftRule } from '../netlink/nft/rule.js';
import type { NftSet } from '../netlink/nft/set.js';
import type { NftSetElem } from '../netlink/nft/set-elem.js';
import type { LiveTable } from './read-table.js';

export interface Drift {
  readonly kind: 'missing' | 'extra' | 'different';
  readonly what: string;
}

/** The table as the kernel would hold it after applying `ruleset`. */
export function expectedTable(ruleset: Ruleset): LiveTable {
  const { bytes } = encodeRuleset(ruleset, { mode: 'replace' });
  const objects: NftObj[] = [];
  const sets = new Map<string, { set: NftSet; elements: NftSetElem[] }>();
  const chains: NftChain[] = [];
  const rules: NftRule[] = [];
  for (const m of readReplies([bytes])) {
    if (m.kind === 'obj') objects.push(m.obj);
    else if (m.kind === 'set') sets.set(m.set.name, { set: m.set, elements: [] });
    else if (m.kind === 'setelem') sets.get(m.elements.set)?.elements.push(...m.elements.elements);
    else if (m.kind === 'chain') chains.push(m.chain);
    else if (m.kind === 'rule') rules.push(m.rule);
  }
  return { name: ruleset.table, objects, sets: [...sets.values()], chains, rules };
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

/**
 * `192.0.2.10 . 6 . 3128` for our address . inet_proto . inet_service keys, `6 . 80` for the
 * port maps' inet_proto . inet_service (each field padded to 4 bytes).
 */
function elementKeyText(e: NftSetElem): string {
  const start = e.key;
  const end = e.keyEnd ?? e.key;
  if (!start || !end || (start.length !== 8 && start.length !== 12 && start.length !== 24)) return `${hex(start)}-${hex(end)}`;
  const addrLen = start.length - 8;
  const addr = (b: Uint8Array): string =>
    addrLen === 4 ? Array.from(b.subarray(0, 4)).join('.') : (ipaddr.fromByteArray(Array.from(b.subarray(0, 16))) as ipaddr.IPv6).toRFC5952String();
  const port = (b: Uint8Array): number => (b[addrLen + 4]! << 8) | b[addrLen + 5]!;
  const range = (a: string | number, b: string | number): string => (a === b ? String(a) : `${a}-${b}`);
  const protoPort = `${start[addrLen]} . ${range(port(start), port(end))}`;
  return addrLen === 0 ? protoPort : `${range(addr(start), addr(end))} . ${protoPort}`;
}

function objectKey(o: NftObj): [string, string] {
  const value = o.data.kind === 'secmark' ? `secmark "${o.data.context}"` : o.data.kind;
  return [`object ${o.name}`, value];
}

function compareMaps(expected: Map<string, string>, live: Map<string, string>, out: Drift[]): void {
  for (const [what, value] of expected) {
    const actual = live.get(what);
    if (actual === undefined) out.push({ kind: 'missing', what });
    else if (actual !== value) out.push({ kind: 'different', what: `${what}: expected ${value}, found ${actual}` });
  }
  for (const what of live.keys()) if (!expected.has(what)) out.push({ kind: 'extra', what });
}

function describeTable(t: LiveTable): Map<string, string> {
  const entries = new Map<string, string>();
  for (const o of t.objects) entries.set(...objectKey(o));
  for (const { set, elements } of t.sets) {
    entries.set(`map ${set.name}`, json({ flags: set.flags, keyType: set.keyType, keyLen: set.keyLen, objType: set.objType }));
    for (const e of elements) entries.set(`map ${set.name} element ${elementKeyText(e)}`, `"${e.objref ?? json(e.data)}"`);
  }
  for (const c of t.chains) entries.set(`chain ${c.name}`, json({ type: c.type, hook: c.hook, policy: c.policy }));
  const perChain = new Map<string, number>();
  for (const r of t.rules) {
    const index = perChain.get(r.chain) ?? 0;
    perChain.set(r.chain, index + 1);
    entries.set(`chain ${r.chain} rule ${index + 1}${r.comment ? ` (${r.comment})` : ''}`, json(r.expressions));
  }
  return entries;
}

/** Every difference, as a list a person can read; empty when the live table matches. */
export function compareTables(expected: LiveTable, live: LiveTable | undefined): Drift[] {
  if (!live) return [{ kind: 'missing', what: `table inet ${expected.name}` }];
  const out: Drift[] = [];
  compareMaps(describeTable(expected), describeTable(live), out);
  return out;
}

/** Is `live` exactly what loading `ruleset` leaves (no table at all for undefined)? */
export function sameTable(ruleset: Ruleset | undefined, live: LiveTable | undefined): boolean {
  if (ruleset === undefined || live === undefined) return ruleset === undefined && live === undefined;
  return compareTables(expectedTable(ruleset), live).length === 0;
}
