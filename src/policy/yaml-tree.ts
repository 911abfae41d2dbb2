// The YAML tree the policy reader walks: just what a policy needs (scalars, sequences, mappings,
// and aliases so they can be refused), each node with its source offsets. Two builders produce
// it: yaml-fast.ts (js-yaml, the common case) and yaml-full.ts (the `yaml` library, whose
// error messages and positions we use whenever the fast one declines).

export type ScalarValue = string | number | boolean | null;

interface Located {
  /** Offset of the node's first character (after any indentation and comments). */
  readonly start: number;
  /** Offset just past the node's last character. */
  readonly end: number;
  /** An explicit tag (`!!binary`, `!foo`), as written and where: the reader refuses it. */
  readonly tag?: { readonly name: string; readonly start: number };
}

export interface ScalarNode extends Located {
  readonly kind: 'scalar';
  readonly value: ScalarValue;
}

export interface SeqNode extends Located {
  readonly kind: 'seq';
  readonly items: readonly YamlNode[];
}

export interface Pair {
  readonly key: YamlNode;
  readonly value: YamlNode;
}

export interface MapNode extends Located {
  readonly kind: 'map';
  readonly pairs: readonly Pair[];
}

export interface AliasNode extends Located {
  readonly kind: 'alias';
}

export type YamlNode = ScalarNode | SeqNode | MapNode | AliasNode;

/** A syntax error at an offset, with the parser's one-line message. */
export interface YamlError {
  readonly offset: number;
  readonly message: string;
  /** The parser ran out of stack: nesting the scan in nesting.ts did not see. */
  readonly tooDeep?: boolean;
}

export type YamlParse = { readonly ok: true; readonly root: YamlNode | undefined } | { readonly ok: false; readonly errors: readonly YamlError[] };

/** Offset → 1-based line and column, by binary search over line starts (cached for runs of nearby offsets). */
export class LineIndex {
  private readonly starts: number[] = [0];
  private last = 0;

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  position(offset: number): { line: number; col: number } {
    const starts = this.starts;
    let line = this.last;
    if (!(starts[line]! <= offset && (line + 1 >= starts.length || offset < starts[line + 1]!))) {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= offset) lo = mid;
        else hi = mid - 1;
      }
      line = lo;
      this.last = line;
    }
    return { line: line + 1, col: offset - starts[line]! + 1 };
  }
}

/** The offset after the last character before `end` that is not blank or a line break. */
export function trimEnd(text: string, start: number, end: number): number {
  let i = end;
  while (i > start) {
    const c = text.charCodeAt(i - 1);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i--;
    else break;
  }
  return i;
}
