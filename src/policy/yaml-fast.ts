// The fast YAML front end: js-yaml (about ten times faster than the `yaml` library on large
// policies) with its parse-event listener, from which we rebuild a tree with source offsets.
// The listener reports every composeNode call, including tentative ones (an implicit key that
// turns out to be a plain value) and, after backtracking, abandoned ones. So the tree is checked
// against js-yaml's own result, node by node; anything that does not match exactly — and any
// error, warning, alias or empty document — returns undefined and the caller uses yaml-full.ts
// instead.

import { CORE_SCHEMA, load, type State } from 'js-yaml';
import { trimEnd, type Pair, type ScalarValue, type YamlNode } from './yaml-tree.js';

interface Built {
  readonly node: YamlNode;
  /** What js-yaml constructed for this node, to check the tree against. */
  readonly raw: unknown;
  readonly kind: string | null;
  /** Kept so that a wrapper around this node can be unwrapped. */
  readonly children: readonly Built[];
}

interface Frame {
  readonly open: number;
  readonly children: Built[];
}

class Decline extends Error {}

export function parseYamlFast(text: string): YamlNode | undefined {
  // js-yaml breaks lines at a lone CR, the reference does not (it is content there): the two
  // would read different trees, so the reference reads such a text.
  if (text.includes('\r') && /\r(?!\n)/.test(text)) return undefined;
  const stack: Frame[] = [{ open: 0, children: [] }];
  try {
    load(text, {
      schema: CORE_SCHEMA,
      // Duplicate keys are reported by the policy reader, with both positions.
      json: true,
      // What js-yaml only warns about (a flow collection's lines indented less than its key's,
      // which the reference takes as the end of the collection), the reference reports.
      onWarning() {
        throw new Decline();
      },
      listener(event: 'open' | 'close', state: State) {
        if (event === 'open') {
          stack.push({ open: state.position, children: [] });
          return;
        }
        const frame = stack.pop()!;
        stack[stack.length - 1]!.children.push(build(text, frame, state));
      },
    });
  } catch {
    return undefined;
  }
  const top = stack[0]!.children;
  return top.length === 1 && stack.length === 1 ? top[0]!.node : undefined;
}

function build(text: string, frame: Frame, state: State): Built {
  const kind = (state.kind as string | null) ?? null;
  const raw: unknown = state.result;
  let children: readonly Built[] = frame.children;
  // A tentative implicit key that became the value: the same node reported twice.
  while (children.length === 1 && children[0]!.kind === kind && Object.is(children[0]!.raw, raw)) {
    const only = children[0]!;
    if (kind !== 'sequence' && kind !== 'mapping') return only;
    children = only.children;
  }
  const first = skipBlank(text, frame.open, state.position);
  // Aliases (which js-yaml reports as an empty node holding the anchored value), anchors and
  // explicit tags: rare in policies, and the reference places them differently. Decline.
  const c = text.charCodeAt(first);
  if (c === 0x2a /* * */ || c === 0x26 /* & */ || c === 0x21 /* ! */) throw new Decline();
  if (kind === null && raw !== null) throw new Decline();
  // An empty value (`key:` and nothing) sits right after its key's colon.
  const start = kind === null ? frame.open : first;
  const end = state.position;

  if (kind === 'scalar' || kind === null) {
    if (children.length !== 0) throw new Decline();
    if (raw !== null && typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') throw new Decline();
    const scalarEnd = kind === null ? start : trimEnd(text, start, end);
    return { node: { kind: 'scalar', value: raw as ScalarValue, start, end: scalarEnd }, raw, kind, children };
  }
  if (kind === 'sequence') {
    const items = raw as unknown[];
    if (!Array.isArray(items) || items.length !== children.length) throw new Decline();
    for (let i = 0; i < items.length; i++) if (!Object.is(items[i], children[i]!.raw)) throw new Decline();
    const node: YamlNode = { kind: 'seq', items: children.map((c) => c.node), start, end: collectionEnd(text, start, end, children) };
    return { node, raw, kind, children };
  }
  if (kind === 'mapping') {
    if (children.length % 2 !== 0 || raw === null || typeof raw !== 'object') throw new Decline();
    const object = raw as Record<string, unknown>;
    const pairs: Pair[] = [];
    const last = new Map<string, unknown>();
    for (let i = 0; i < children.length; i += 2) {
      const key = children[i]!;
      const value = children[i + 1]!;
      // The reference holds implicit keys to YAML's 1,024 characters; js-yaml does not.
      if (key.node.kind !== 'scalar' || key.node.end - key.node.start > 1000) throw new Decline();
      last.set(String(key.raw), value.raw);
      pairs.push({ key: key.node, value: value.node });
    }
    const keys = Object.keys(object);
    if (keys.length !== last.size) throw new Decline();
    for (const k of keys) if (!last.has(k) || !Object.is(object[k], last.get(k))) throw new Decline();
    const node: YamlNode = { kind: 'map', pairs, start, end: collectionEnd(text, start, end, children) };
    return { node, raw, kind, children };
  }
  throw new Decline();
}

/** First offset at or after `from` that is not blank, a line break or a comment. */
function skipBlank(text: string, from: number, limit: number): number {
  let i = from;
  while (i < limit) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
    else if (c === 0x23 /* # */) {
      while (i < limit && text.charCodeAt(i) !== 0x0a) i++;
    } else break;
  }
  return i;
}

/** A flow collection ends at its bracket; a block one at its last child. */
function collectionEnd(text: string, start: number, end: number, children: readonly Built[]): number {
  const open = text.charCodeAt(start);
  if (open === 0x5b /* [ */ || open === 0x7b /* { */) return trimEnd(text, start, end);
  return children.length ? children[children.length - 1]!.node.end : trimEnd(text, start, end);
}
