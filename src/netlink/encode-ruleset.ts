// Ruleset (IR) → one nf_tables batch: BATCH_BEGIN ... BATCH_END in a single buffer, plus a
// record of which policy span produced each message and each attribute inside it (every set
// element, every statement), so that a kernel error — by seq, and by its extended-ack offset —
// maps back to the policy line (nftables' cmd_add_loc / nft_cmd_error).

import type { Chain, MapElement, NamedObject, ObjectMap, Rule, Ruleset, Statement } from '../compile/ir.js';
import type { Note } from '../policy/diagnostics.js';
import type { Span } from '../policy/span.js';
import { elementWhat, statementText } from './describe.js';
import { keyPartText } from '../emit/element-text.js';
import { linearizeRule, OBJECT_TYPES, type MapRef, type MapRefs } from './linearize.js';
import { elementSize, ElementWriter, mapLayout } from './map-layout.js';
import { encodeBatchBegin, encodeBatchEnd, startNftMessage } from './nft/batch.js';
import { encodeChain } from './nft/chain.js';
import {
  NFT_MSG_DELTABLE,
  NFT_MSG_NAMES,
  NFT_MSG_NEWCHAIN,
  NFT_MSG_NEWOBJ,
  NFT_MSG_NEWRULE,
  NFT_MSG_NEWSET,
  NFT_MSG_NEWSETELEM,
  NFT_MSG_NEWTABLE,
  NFTA_SET_ELEM_LIST_ELEMENTS,
} from './nft/constants.js';
import { encodeObj } from './nft/obj.js';
import { encodeRule } from './nft/rule.js';
import { encodeSet } from './nft/set.js';
import { encodeSetElemListHeader } from './nft/set-elem.js';
import { encodeTable } from './nft/table.js';
import { objectMapUserdata, ruleCommentUserdata } from './nft/udata.js';
import {
  NF_ACCEPT,
  NF_DROP,
  NF_INET_LOCAL_IN,
  NF_INET_LOCAL_OUT,
  NFPROTO_INET,
  NLA_MAX_LEN,
  NLM_F_ACK,
  NLM_F_APPEND,
  NLM_F_CREATE,
} from './wire/constants.js';
import { NetlinkWriter } from './wire/writer.js';
import { refName, type AttrRecord, type MessageRecord, type Origin } from './locate-error.js';

export { locateError, type AttrRecord, type MessageRecord } from './locate-error.js';

export interface EncodeOptions {
  /** NFNL_BATCH_GENID: refuse the batch (ERESTART) if the ruleset changed since this generation. */
  readonly genId?: number;
  /** Sequence number of BATCH_BEGIN; each message takes the next. Default 1. */
  readonly seqStart?: number;
  readonly mode: 'replace' | 'delete';
  /**
   * A buffer to write into instead of a new one, if it is large enough: that of an earlier batch
   * that is no longer needed (its bytes are overwritten). See NetlinkWriter.
   */
  readonly reuse?: Uint8Array;
}

export interface EncodedBatch {
  readonly bytes: Uint8Array;
  readonly messages: MessageRecord[];
}

const FAMILIES = { inet: NFPROTO_INET } as const;
const HOOKS = { input: NF_INET_LOCAL_IN, output: NF_INET_LOCAL_OUT } as const;

/** A set element's record; its text is only built if an error asks for it. */
class ElementRecord implements AttrRecord {
  readonly kind = 'element';

  constructor(
    readonly offset: number,
    readonly end: number,
    private readonly map: ObjectMap,
    private readonly element: MapElement,
  ) {}

  get span(): Span {
    return this.element.span;
  }

  get what(): string {
    return elementWhat(this.map, this.element);
  }

  get notes(): readonly Note[] {
    const peer = this.element.peer;
    const addr = this.element.parts[0];
    return peer && addr ? [{ span: peer, message: `its address ${keyPartText(addr)} is written here` }] : [];
  }

  get uses(): readonly string[] {
    return [refName.object(this.element.object), refName.map(this.map.name)];
  }
}

/**
 * A NEWSETELEM message's record. Its per-element records are built on first use (an error
 * about this message), from element offsets kept in a typed array: 100,000 elements cost
 * one Int32Array, not 100,000 objects.
 */
class ElementsMessageRecord implements MessageRecord {
  readonly type = 'NFT_MSG_NEWSETELEM';
  readonly kind = 'element';
  private built?: AttrRecord[];

  constructor(
    readonly seq: number,
    readonly what: string,
    readonly span: Span,
    readonly start: number,
    readonly end: number,
    private readonly map: ObjectMap,
    private readonly first: number,
    /** Offsets from the message start: element i starts at [i], the last ends at [count]. */
    private readonly bounds: Int32Array,
  ) {}

  get uses(): readonly string[] {
    return [refName.map(this.map.name)];
  }

  get attrs(): readonly AttrRecord[] {
    if (!this.built) {
      this.built = [];
      for (let i = 0; i + 1 < this.bounds.length; i++) {
        this.built.push(new ElementRecord(this.bounds[i] as number, this.bounds[i + 1] as number, this.map, this.map.elements[this.first + i] as MapElement));
      }
    }
    return this.built;
  }
}

class BatchBuilder {
  readonly w: NetlinkWriter;
  readonly messages: MessageRecord[] = [];
  private seq: number;

  constructor(seqStart: number, sizeHint: number, reuse?: Uint8Array) {
    this.w = new NetlinkWriter(sizeHint, reuse);
    this.seq = seqStart;
  }

  nextSeq(): number {
    return this.seq++;
  }

  record(seq: number, type: string, origin: Origin, start: number, attrs: readonly AttrRecord[] = []): void {
    this.messages.push({ seq, type, ...origin, start, end: this.w.offset, attrs });
  }

  push(record: MessageRecord): void {
    this.messages.push(record);
  }

  /** Write one nf_tables message whose body has no attribute-level records. */
  simple(msg: number, flags: number, family: number, origin: Origin, body: (w: NetlinkWriter) => void): void {
    const seq = this.nextSeq();
    const start = startNftMessage(this.w, msg, flags, seq, family);
    body(this.w);
    this.w.messageEnd(start);
    this.record(seq, NFT_MSG_NAMES[msg] as string, origin, start);
  }
}

/** Rough bytes per element, to preallocate once for big maps. */
/**
 * The batch's size, closely over-estimated so the writer allocates once and never copies: the
 * elements dominate, and their size depends only on the key length and the object name.
 */
function sizeHint(ruleset: Ruleset): number {
  const longestName = ruleset.objects.reduce((n, o) => Math.max(n, Buffer.byteLength(o.name)), 0);
  let bytes = 64 * 1024;
  for (const m of ruleset.maps) bytes += m.elements.length * elementSize(mapLayout(m), longestName + 1);
  // One list header per NEWSETELEM message (a message holds at most NLA_MAX_LEN bytes of elements).
  return bytes + Math.ceil((bytes - 64 * 1024) / (NLA_MAX_LEN / 2)) * 256;
}

export function encodeRuleset(ruleset: Ruleset, options: EncodeOptions): EncodedBatch {
  const family = FAMILIES[ruleset.family];
  const b = new BatchBuilder(options.seqStart ?? 1, options.mode === 'delete' ? 4096 : sizeHint(ruleset), options.reuse);
  const table = ruleset.table;
  const tableText = `table ${ruleset.family} ${table}`;

  const beginSeq = b.nextSeq();
  const begin = encodeBatchBegin(b.w, beginSeq, options.genId);
  const batch = (what: string): Origin => ({ kind: 'batch', what, span: ruleset.span });
  const ofTable = (what: string): Origin => ({ kind: 'table', what, span: ruleset.span });
  b.record(beginSeq, 'NFNL_MSG_BATCH_BEGIN', batch(options.genId !== undefined ? `batch begin (generation ${options.genId})` : 'batch begin'), begin);

  // Create the table if missing (no NLM_F_EXCL), so that deleting it cannot fail with ENOENT.
  b.simple(NFT_MSG_NEWTABLE, 0, family, ofTable(`${tableText} (create if missing)`), (w) => encodeTable(w, { family, name: table, flags: 0 }));
  b.simple(NFT_MSG_DELTABLE, 0, family, ofTable(`delete ${tableText}`), (w) => encodeTable(w, { family, name: table }));

  if (options.mode === 'replace') {
    b.simple(NFT_MSG_NEWTABLE, 0, family, ofTable(tableText), (w) => encodeTable(w, { family, name: table, flags: 0 }));
    // nft's order: chains, objects, each map with its elements, then rules.
    for (const chain of ruleset.chains) encodeChainMessage(b, family, table, chain);
    for (const object of ruleset.objects) encodeObjectMessage(b, family, table, object);
    const mapRefs = new Map<string, MapRef>();
    ruleset.maps.forEach((map, i) => mapRefs.set(map.name, { id: i + 1, interval: map.interval }));
    for (const map of ruleset.maps) encodeMapMessages(b, family, table, map, (mapRefs.get(map.name) as MapRef).id);
    for (const chain of ruleset.chains) for (const rule of chain.rules) encodeRuleMessage(b, family, table, chain, rule, mapRefs);
  }

  // The kernel handles the batch inside sendmsg and answers every failing message with an
  // error; an ACK requested on the last message marks the end of the answers.
  const last = b.messages[b.messages.length - 1] as MessageRecord;
  b.w.setMessageFlags(last.start, b.w.messageFlagsAt(last.start) | NLM_F_ACK);

  const endSeq = b.nextSeq();
  const end = encodeBatchEnd(b.w, endSeq);
  b.record(endSeq, 'NFNL_MSG_BATCH_END', batch('batch end'), end);
  return { bytes: b.w.bytes(), messages: b.messages };
}

function encodeChainMessage(b: BatchBuilder, family: number, table: string, chain: Chain): void {
  const origin: Origin = { kind: 'chain', what: `chain ${chain.name} (hook ${chain.hook} priority ${chain.priority})`, span: chain.span, defines: refName.chain(chain.name) };
  b.simple(NFT_MSG_NEWCHAIN, NLM_F_CREATE, family, origin, (w) =>
    encodeChain(w, { family, table, name: chain.name, type: 'filter', policy: chain.policy === 'drop' ? NF_DROP : NF_ACCEPT, hook: { hooknum: HOOKS[chain.hook], priority: chain.priority } }),
  );
}

function encodeObjectMessage(b: BatchBuilder, family: number, table: string, object: NamedObject): void {
  const data = object.kind === 'secmark' ? { kind: 'secmark' as const, context: object.context ?? '' } : { kind: 'counter' as const, bytes: 0n, packets: 0n };
  const what = object.context !== undefined ? `${object.kind} "${object.name}" (${object.context})` : `${object.kind} "${object.name}"`;
  const origin: Origin = { kind: 'object', what, span: object.span, defines: refName.object(object.name) };
  b.simple(NFT_MSG_NEWOBJ, NLM_F_CREATE, family, origin, (w) => encodeObj(w, { family, table, name: object.name, data }));
}

function encodeMapMessages(b: BatchBuilder, family: number, table: string, map: ObjectMap, setId: number): void {
  const elements = new ElementWriter(map);
  const layout = elements.layout;
  b.simple(NFT_MSG_NEWSET, NLM_F_CREATE, family, { kind: 'map', what: `map "${map.name}"`, span: map.span, defines: refName.map(map.name) }, (w) =>
    encodeSet(w, {
      family,
      table,
      name: map.name,
      flags: layout.flags,
      keyType: layout.keyType,
      keyLen: layout.keyLen,
      objType: OBJECT_TYPES[map.data],
      id: setId,
      ...(layout.interval ? { desc: { concat: layout.fieldLens } } : {}),
      userdata: objectMapUserdata(),
    }),
  );

  // As many NEWSETELEM messages as it takes to keep each NFTA_SET_ELEM_LIST_ELEMENTS nest
  // within its u16 length. Element nests are numbered from 1 in each message.
  const w = b.w;
  const total = map.elements.length;
  // Element offsets of the message being written (an element nest takes at least 16 bytes).
  const bounds = new Int32Array(Math.min(NLA_MAX_LEN / 16, total + 1));
  let i = 0;
  while (i < total) {
    const seq = b.nextSeq();
    const start = startNftMessage(w, NFT_MSG_NEWSETELEM, NLM_F_CREATE, seq, family);
    encodeSetElemListHeader(w, table, map.name, setId);
    const list = w.nestStart(NFTA_SET_ELEM_LIST_ELEMENTS);
    const first = i;
    let n = 0;
    while (i < total) {
      // The first element of a message is written whatever its size (write throws if it can never fit).
      const at = elements.write(w, n + 1, map.elements[i] as MapElement, n > 0 ? list + NLA_MAX_LEN : Infinity);
      if (at < 0) break;
      bounds[n++] = at - start;
      i++;
    }
    bounds[n] = w.offset - start;
    w.nestEnd(list);
    w.messageEnd(start);
    const what = first === 0 && i === total ? `map "${map.name}" elements` : `map "${map.name}" elements ${first + 1}-${i} of ${total}`;
    b.push(new ElementsMessageRecord(seq, what, map.span, start, w.offset, map, first, bounds.slice(0, n + 1)));
  }
}

function encodeRuleMessage(b: BatchBuilder, family: number, table: string, chain: Chain, rule: Rule, mapRefs: MapRefs): void {
  const { exprs, statementOf } = linearizeRule(rule, mapRefs);
  const w = b.w;
  const seq = b.nextSeq();
  const start = startNftMessage(w, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, seq, family);
  const { exprOffsets: offsets, exprsEnd: listEnd } = encodeRule(w, {
    family,
    table,
    chain: chain.name,
    expressions: exprs,
    ...(rule.comment !== '' ? { userdata: ruleCommentUserdata(rule.comment) } : {}),
  });
  w.messageEnd(start);
  const attrs: AttrRecord[] = [];
  for (let e = 0; e < exprs.length; e++) {
    const s = statementOf[e] as number;
    if (e > 0 && statementOf[e - 1] === s) continue;
    let next = e + 1;
    while (next < exprs.length && statementOf[next] === s) next++;
    const endOffset = next < exprs.length ? (offsets[next] as number) : listEnd;
    const statement = rule.statements[s] as Statement;
    attrs.push({ offset: (offsets[e] as number) - start, end: endOffset - start, kind: 'rule', span: rule.span, what: `${statementText(statement)} (rule in chain ${chain.name})`, uses: [refName.chain(chain.name), ...statementUses(statement)] });
  }
  const text = rule.statements.map(statementText).join(' ');
  const uses = [refName.chain(chain.name), ...rule.statements.flatMap(statementUses)];
  b.record(seq, 'NFT_MSG_NEWRULE', { kind: 'rule', what: `rule in chain ${chain.name}: ${text}`, span: rule.span, uses }, start, attrs);
}

/** The objects and maps a statement names: the kernel refuses it when they are missing. */
function statementUses(statement: Statement): string[] {
  if (statement.kind === 'objref') return [refName.object(statement.name)];
  if (statement.kind === 'objref-map') return [refName.map(statement.map)];
  return [];
}
