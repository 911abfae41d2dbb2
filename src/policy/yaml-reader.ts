// A typed, position-aware walk over a YAML document: every accessor reports what is wrong with
// a span instead of throwing, so a bad policy yields all its diagnostics at once. Every node it
// reads passes `usable` first: no aliases, no tags, no scalar longer than LIMITS.scalarLength.

import type { DiagnosticSink } from './diagnostics.js';
import { LIMITS } from './limits.js';
import type { Span } from './span.js';
import type { Spanned } from './types.js';
import { didYouMean } from './did-you-mean.js';
import type { LineIndex, YamlNode as TreeNode } from './yaml-tree.js';

export type YamlNode = TreeNode | null | undefined;

export interface MapEntry {
  readonly key: string;
  readonly keySpan: Span;
  readonly value: YamlNode;
  readonly valueSpan: Span;
}

export class YamlReader {
  constructor(
    readonly file: string,
    private readonly text: string,
    private readonly lines: LineIndex,
    readonly sink: DiagnosticSink,
    private readonly fallback: Span,
  ) {}

  spanOf(node: YamlNode): Span {
    if (!node) return this.fallback;
    const start = this.lines.position(node.start);
    const end = this.lines.position(node.end);
    return { file: this.file, line: start.line, col: start.col, endLine: end.line, endCol: end.col };
  }

  spanAt(offset: number): Span {
    const pos = this.lines.position(offset);
    return { file: this.file, line: pos.line, col: pos.col, endLine: pos.line, endCol: pos.col };
  }

  /**
   * The entries of a mapping, in order. Unknown keys get SMC002 with a suggestion, repeated keys
   * SMC006 (or `duplicateCode`, e.g. SMC040 for apps); `known` undefined accepts any key.
   */
  entries(node: YamlNode, what: string, known?: readonly string[], duplicateCode: 'SMC006' | 'SMC040' = 'SMC006'): MapEntry[] | undefined {
    if (!this.usable(node, what)) return undefined;
    if (node?.kind !== 'map') {
      this.sink.error('SMC003', this.spanOf(node), `${what} must be a mapping`);
      return undefined;
    }
    const seen = new Map<string, Span>();
    const out: MapEntry[] = [];
    for (const pair of node.pairs) {
      const keyNode = pair.key;
      const keySpan = this.spanOf(keyNode);
      if (!this.usable(keyNode, `keys of ${what}`)) continue;
      if (keyNode.kind !== 'scalar' || typeof keyNode.value !== 'string') {
        this.sink.error('SMC003', keySpan, `keys of ${what} must be plain strings`);
        continue;
      }
      const key = keyNode.value;
      if (known && !known.includes(key)) {
        this.sink.error('SMC002', keySpan, `unknown key "${key}" in ${what}${didYouMean(key, known)}`);
        continue;
      }
      const previous = seen.get(key);
      if (previous) {
        const label = duplicateCode === 'SMC040' ? `duplicate app name "${key}"` : `duplicate key "${key}" in ${what}`;
        this.sink.error(duplicateCode, keySpan, `${label} (first at line ${previous.line})`);
        continue;
      }
      seen.set(key, keySpan);
      const value = pair.value;
      out.push({ key, keySpan, value, valueSpan: this.spanOf(value) });
    }
    return out;
  }

  string(node: YamlNode, what: string): Spanned<string> | undefined {
    if (!this.usable(node, what)) return undefined;
    if (node?.kind !== 'scalar' || typeof node.value !== 'string' || node.value === '') {
      this.sink.error('SMC003', this.spanOf(node), `${what} must be a non-empty string`);
      return undefined;
    }
    return { value: node.value, span: this.spanOf(node) };
  }

  /**
   * A scalar that may be written as a number or a string (ports, versions), as the text the user
   * wrote: `0x10` stays `0x10` (not an address, not a port) instead of becoming `16`. With
   * `decimal`, a number must be written as a plain decimal integer: `0x1`, `0o1`, `1e0`, `1.0`,
   * `+1` and `01` all read as 1 in YAML 1.2, and `010` is 8 in YAML 1.1.
   */
  scalarText(node: YamlNode, what: string, decimal = false): Spanned<string> | undefined {
    if (!this.usable(node, what)) return undefined;
    if (node?.kind !== 'scalar' || (typeof node.value !== 'string' && typeof node.value !== 'number')) {
      this.sink.error('SMC003', this.spanOf(node), `${what} must be a string`);
      return undefined;
    }
    if (typeof node.value === 'string') return { value: node.value, span: this.spanOf(node) };
    const written = this.text.slice(node.start, node.end);
    if (decimal && !/^(?:0|[1-9][0-9]*)$/.test(written)) {
      const plain = Number.isSafeInteger(node.value) && node.value >= 0 ? ` (${node.value})` : '';
      this.sink.error('SMC095', this.spanOf(node), `${what}: "${written}" must be written as a plain decimal integer${plain}`);
      return undefined;
    }
    return { value: written, span: this.spanOf(node) };
  }

  /** A list of strings; a single string is accepted as a list of one. */
  stringList(node: YamlNode, what: string, allowEmpty = false): Spanned<string>[] | undefined {
    if (!this.usable(node, what)) return undefined;
    if (node?.kind === 'scalar') {
      const one = this.scalarText(node, what);
      return one ? [one] : undefined;
    }
    if (node?.kind !== 'seq') {
      this.sink.error('SMC003', this.spanOf(node), `${what} must be a list of strings`);
      return undefined;
    }
    if (node.items.length === 0 && !allowEmpty) {
      this.sink.error('SMC008', this.spanOf(node), `${what} must not be empty`);
      return undefined;
    }
    const out: Spanned<string>[] = [];
    for (const item of node.items) {
      const value = this.scalarText(item, `each entry of ${what}`);
      if (value) out.push(value);
    }
    return out;
  }

  /** The items of a list of mappings. */
  list(node: YamlNode, what: string): YamlNode[] | undefined {
    if (!this.usable(node, what)) return undefined;
    if (node?.kind !== 'seq') {
      this.sink.error('SMC003', this.spanOf(node), `${what} must be a list`);
      return undefined;
    }
    return [...node.items];
  }

  /**
   * Aliases would let one node appear under several spans (and invite alias bombs); tags change
   * what a value is read as (`!!binary` decodes base64); an overlong scalar is no name, address or
   * description. Each is refused where it is read.
   */
  private usable(node: YamlNode, what: string): boolean {
    if (node?.kind === 'alias') {
      this.sink.error('SMC003', this.spanOf(node), 'YAML aliases are not supported; use a named group under "groups" instead');
      return false;
    }
    if (node?.tag) {
      this.sink.error('SMC009', this.spanAt(node.tag.start), `${what}: YAML tags such as "${node.tag.name}" are not supported; write the plain value`);
      return false;
    }
    if (node?.kind === 'scalar' && typeof node.value === 'string' && node.value.length > LIMITS.scalarLength) {
      this.sink.error('SMC093', this.spanOf(node), `${what}: a value of ${node.value.length} characters; at most ${LIMITS.scalarLength} are allowed`);
      return false;
    }
    return true;
  }
}
