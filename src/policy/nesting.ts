// How deeply a YAML text nests, measured by one linear scan before either parser runs. Both
// parsers recurse once per level (js-yaml while reading, the `yaml` library while composing and,
// in its CST parser, once per level a dedent closes), so a document nested a few thousand levels
// deep overflows the stack: a RangeError, not a diagnostic. The scan counts levels as the parsers
// nest them: block collections by indentation and by compact indicators (`- - x`, `- key: v`),
// flow collections by their brackets, a `key: value` pair inside a flow sequence as one more. It
// skips comments and quoted and block scalars. Where the two parsers read a text differently it
// follows the `yaml` library's lexer (yaml-fast.ts leaves such texts to that library), and where
// it cannot tell, it counts more, not fewer. Should anything still get past it, a stack overflow
// in either front end ends as SMC092 too (yaml-fast.ts declines, yaml-full.ts reports it).

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;

// Line breaks are LF and CR LF, as the `yaml` library reads them; a lone CR is content there
// (js-yaml breaks the line at it: yaml-fast.ts leaves such texts to the `yaml` library).

/** ASCII characters that may end a run of plain scalar characters, in block and in flow context. */
const STOP_BLOCK = new Uint8Array(128);
const STOP_FLOW = new Uint8Array(128);
for (const c of ' \t\n\r:#') STOP_BLOCK[c.charCodeAt(0)] = STOP_FLOW[c.charCodeAt(0)] = 1;
for (const c of ',[]{}') STOP_FLOW[c.charCodeAt(0)] = 1;

/** A flow collection on the stack: a mapping, a sequence, or a sequence inside a `k: v` pair. */
const FLOW_MAP = 0;
const FLOW_SEQ = 1;
const FLOW_SEQ_PAIR = 2;

function isBreak(c: number): boolean {
  return c === LF;
}

/** A line break, or the CR of a CR LF: where a line's content ends. */
function endsLine(text: string, at: number): boolean {
  const c = text.charCodeAt(at);
  return c === LF || (c === CR && text.charCodeAt(at + 1) === LF) || at >= text.length;
}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

/** Space, tab, line break or end of text (NaN): what must follow an indicator. */
function endsToken(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR || Number.isNaN(c);
}

function isFlowIndicator(c: number): boolean {
  return c === 0x2c /* , */ || c === 0x5b /* [ */ || c === 0x5d /* ] */ || c === 0x7b /* { */ || c === 0x7d /* } */;
}

/** `---` or `...` at the start of a line, followed by a space or the end of the line. */
function isDocumentMarker(text: string, at: number): boolean {
  const c = text.charCodeAt(at);
  return (c === 0x2d || c === 0x2e) && text.charCodeAt(at + 1) === c && text.charCodeAt(at + 2) === c && endsToken(text.charCodeAt(at + 3));
}

/** The offset just past the line break that ends the line holding `at` (or the end of the text). */
function nextLine(text: string, at: number): number {
  const i = text.indexOf('\n', at);
  return i < 0 ? text.length : i + 1;
}

/**
 * The offset just past a quoted scalar that opens at `at`, or, as the `yaml` library's lexer
 * cuts it short, the start of the first line inside it that is indented less than `indentNext`
 * (or, with `indentNext` 0, a document marker): that line is read as structure again.
 */
function skipQuoted(text: string, at: number, indentNext: number): number {
  const quote = text.charCodeAt(at);
  let i = at + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (quote === 0x22 /* " */ && c === 0x5c /* \ */) i += 2;
    else if (c === quote) {
      if (quote === 0x27 /* ' */ && text.charCodeAt(i + 1) === quote) i += 2;
      else return i + 1;
    } else if (isBreak(c)) {
      i = nextLine(text, i);
      let j = i;
      while (text.charCodeAt(j) === SPACE) j++;
      if (indentNext > 0 ? !endsLine(text, j) && j - i < indentNext : isDocumentMarker(text, i)) return i;
    } else i++;
  }
  return i;
}

/**
 * A block scalar whose header (`|`, `>`) is at `at`, as the `yaml` library's lexer reads it: its
 * content is every following line that is blank or indented at least as its first non-blank line,
 * if that one is indented `indentNext` or more (else it is empty); an indentation indicator (`|2`)
 * fixes the content's indentation instead. Returns the offset of the first line after it, and
 * `indentNext` after it.
 */
function skipBlockScalar(text: string, at: number, indentNext: number): [number, number] {
  let explicit = -1;
  for (let i = at + 1; ; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x30 && c <= 0x39) explicit = c - 0x31;
    else if (c !== 0x2b /* + */ && c !== 0x2d /* - */) break;
  }
  const first = nextLine(text, at);
  let line = first;
  let indent = 0;
  while (line < text.length) {
    let i = line;
    while (text.charCodeAt(i) === SPACE) i++;
    indent = i - line;
    if (!endsLine(text, i)) break;
    line = nextLine(text, i);
  }
  if (line >= text.length || indent < indentNext) return [first, indentNext];
  const content = explicit === -1 ? indent : explicit + (indentNext === 0 ? 1 : indentNext);
  for (line = first; line < text.length; ) {
    let i = line;
    while (text.charCodeAt(i) === SPACE) i++;
    if (!endsLine(text, i) && (i - line < content || (i === line && isDocumentMarker(text, i)))) break;
    line = nextLine(text, i);
  }
  return [line, content];
}

/**
 * Whether the line at `at`, inside flow collections, ends them all as the `yaml` library's lexer
 * does: it is indented less than `indentNext` (but a closing bracket of the only one open, one
 * column less, is let through) or is a document marker. js-yaml reads on, with a warning; but it recurses into
 * nothing the lines after do not open again, and its stack overflow is caught.
 */
function endsFlow(text: string, at: number, indentNext: number, open: number): boolean {
  let i = at;
  while (text.charCodeAt(i) === SPACE) i++;
  const c = text.charCodeAt(i);
  if (endsLine(text, i) || c === 0x23 /* # */ || c === TAB) return false;
  const indent = i - at;
  if (indent === 0 && isDocumentMarker(text, i)) return true;
  return indent < indentNext && !(indent === indentNext - 1 && open === 1 && (c === 0x5d || c === 0x7d));
}

/**
 * The offset of the first node nested deeper than `limit` collections, or undefined. Linear in
 * the text's length; for a well-formed document the count is exact, so every policy (6 levels)
 * passes any limit from 6 up.
 */
export function findExcessiveNesting(text: string, limit: number): number | undefined {
  // Open block collections: their columns and whether each is a sequence (a sequence may sit at
  // the column of the mapping key it belongs to: `key:` then `- item` below it).
  const blockCols: number[] = [];
  const blockSeq: boolean[] = [];
  const flow: number[] = [];
  let flowDepth = 0; // flow.length plus the open pairs
  // For each open flow collection, the deepest its current entry went (if the entry turns out
  // to be the key of a pair, `[[a]: b]`, the pair's mapping was not counted while it was read),
  // and the deepest any of its entries went (what its parent's entry learns when it closes).
  const entryMax: number[] = [];
  const allMax: number[] = [];
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  // The last token on the line was a plain scalar: a more indented line continues it.
  let plain = false;
  // As the `yaml` library's lexer keeps it: a line of a flow collection indented less than this
  // ends every open flow collection (an error it recovers from, and block structure again).
  let indentNext = 0;

  const top = (): number => (blockCols.length ? blockCols[blockCols.length - 1]! : -1);
  const tooDeep = (): boolean => blockCols.length + flowDepth > limit;
  const pushBlock = (col: number, seq: boolean): boolean => {
    blockCols.push(col);
    blockSeq.push(seq);
    return tooDeep();
  };

  while (pos < text.length) {
    // A line starts at pos.
    const lineStart = pos;
    while (isBlank(text.charCodeAt(pos))) pos++;
    const indent = pos - lineStart;
    const first = text.charCodeAt(pos);
    if (pos >= text.length) break;
    const blankLine = endsLine(text, pos);
    if (blankLine || first === 0x23 /* # */) {
      // The lexer lowers indentNext on every line whose second character is not blank: a comment,
      // a blank line before one that starts at its first column.
      const second = blankLine ? text.charCodeAt(nextLine(text, pos)) : text.charCodeAt(pos + 1);
      if (!endsToken(second)) indentNext = Math.min(indentNext, indent);
      pos = nextLine(text, pos);
      continue;
    }
    // No flow collection is open here: the inner loop leaves them only once closed or abandoned.
    let atNode = true;
    if (indent === 0 && (isDocumentMarker(text, pos) || first === 0x25) /* % directive */) {
      blockCols.length = blockSeq.length = 0;
      plain = false;
      indentNext = 0;
      if (first === 0x25) {
        pos = nextLine(text, pos);
        continue;
      }
      pos += 3;
    } else if (plain && indent > top()) {
      atNode = false; // a multi-line plain scalar goes on
    } else {
      // Collections more indented than this line have ended, and so has a sequence at its
      // column if the line is no item of it. A line of items opens a sequence; a mapping is
      // opened by its first `key:` (below), so that a line holding only a value counts nothing.
      const seq = first === 0x2d /* - */ && endsToken(text.charCodeAt(pos + 1));
      while (blockCols.length && top() > indent) {
        blockCols.pop();
        blockSeq.pop();
      }
      if (top() === indent && blockSeq[blockSeq.length - 1] && !seq) {
        blockCols.pop();
        blockSeq.pop();
      }
      if (seq) {
        if (!(top() === indent && blockSeq[blockSeq.length - 1]) && pushBlock(indent, true)) return pos;
        pos++;
      }
      if (seq) indentNext = indent + 1;
      else if (!endsToken(text.charCodeAt(pos + 1))) indentNext = Math.min(indentNext, indent);
      plain = false;
    }
    // The rest of the line (and, inside flow collections or quotes, of the lines that follow).
    let tokenCol = pos - lineStart;
    // The same for a flow collection at tokenCol that turns out to be a key (`[a]: b`).
    let keyMax = 0;
    let col0 = lineStart;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (isBreak(c)) {
        pos = nextLine(text, pos);
        if (flow.length === 0) break;
        col0 = pos;
        if (endsFlow(text, pos, indentNext, flow.length)) {
          flow.length = entryMax.length = allMax.length = flowDepth = 0;
          plain = false;
          break;
        }
        continue;
      }
      const next = text.charCodeAt(pos + 1);
      if (isBlank(c) || (c === CR && next === LF)) {
        pos++;
        continue;
      }
      const prev = pos > 0 ? text.charCodeAt(pos - 1) : LF;
      if (c === 0x23 /* # */ && (isBlank(prev) || isBreak(prev))) {
        // A comment ends a plain scalar: a more indented line after it is not a continuation.
        while (pos < text.length && !isBreak(text.charCodeAt(pos))) pos++;
        plain = false;
        continue;
      }
      if (atNode && (c === 0x22 || c === 0x27)) {
        tokenCol = pos - col0;
        keyMax = 0;
        pos = skipQuoted(text, pos, indentNext);
        atNode = plain = false;
        // Cut short: that line starts afresh.
        if (isBreak(text.charCodeAt(pos - 1))) {
          col0 = pos;
          if (flow.length === 0) break;
          if (endsFlow(text, pos, indentNext, flow.length)) {
            flow.length = entryMax.length = allMax.length = flowDepth = 0;
            break;
          }
        }
        continue;
      }
      if (atNode && flow.length === 0 && (c === 0x7c /* | */ || c === 0x3e) /* > */) {
        [pos, indentNext] = skipBlockScalar(text, pos, indentNext);
        plain = false;
        break;
      }
      if ((atNode || flow.length > 0) && (c === 0x5b /* [ */ || c === 0x7b) /* { */) {
        if (flow.length === 0) {
          tokenCol = pos - col0;
          keyMax = 0;
        }
        flow.push(c === 0x5b ? FLOW_SEQ : FLOW_MAP);
        flowDepth++;
        if (tooDeep()) return pos;
        entryMax.push(blockCols.length + flowDepth);
        allMax.push(blockCols.length + flowDepth);
        pos++;
        atNode = true;
        plain = false;
        continue;
      }
      if (atNode && (c === 0x21 /* ! */ || c === 0x26) /* & */) {
        // A tag or an anchor: the node itself follows.
        while (pos < text.length && !endsToken(text.charCodeAt(pos)) && !(flow.length > 0 && isFlowIndicator(text.charCodeAt(pos)))) pos++;
        continue;
      }
      if (flow.length > 0) {
        const kind = flow[flow.length - 1]!;
        if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
          flow.pop();
          flowDepth -= kind === FLOW_SEQ_PAIR ? 2 : 1;
          entryMax.pop();
          const deepest = allMax.pop()!;
          const parent = flow.length - 1;
          if (parent >= 0) {
            entryMax[parent] = Math.max(entryMax[parent]!, deepest);
            allMax[parent] = Math.max(allMax[parent]!, deepest);
          } else keyMax = Math.max(keyMax, deepest);
          atNode = plain = false;
        } else if (c === 0x2c /* , */) {
          if (kind === FLOW_SEQ_PAIR) {
            flow[flow.length - 1] = FLOW_SEQ;
            flowDepth--;
          }
          entryMax[entryMax.length - 1] = blockCols.length + flowDepth;
          atNode = true;
          plain = false;
        } else if (c === 0x3a /* : */ || (c === 0x3f /* ? */ && atNode && (endsToken(next) || isFlowIndicator(next)))) {
          // `[a: b]` is a sequence holding the mapping {a: b}; any colon in a sequence entry may
          // start one (a colon inside a plain scalar, `[http://x]`, is counted too).
          if (kind === FLOW_SEQ) {
            flow[flow.length - 1] = FLOW_SEQ_PAIR;
            flowDepth++;
            const key = entryMax[entryMax.length - 1]! + 1;
            if (tooDeep() || key > limit) return pos;
            entryMax[entryMax.length - 1] = Math.max(key, blockCols.length + flowDepth);
            allMax[allMax.length - 1] = Math.max(allMax[allMax.length - 1]!, entryMax[entryMax.length - 1]!);
          }
          // Inside a plain scalar a colon not followed by a space is part of it; after a quoted
          // key (`"a":"b"`) or a collection the value starts right after it.
          atNode = !plain || endsToken(next) || isFlowIndicator(next) || c === 0x3f;
          plain = !atNode;
        } else {
          atNode = false;
          plain = true;
          for (pos++; pos < text.length; pos++) {
            const d = text.charCodeAt(pos);
            if (d < 128 && STOP_FLOW[d]) break;
          }
          continue;
        }
        pos++;
        continue;
      }
      // Block context, after the line's first token.
      if ((c === 0x2d /* - */ || c === 0x3f /* ? */ || c === 0x3a) /* : */ && endsToken(next) && (atNode || c === 0x3a)) {
        const col = pos - col0;
        if (c === 0x3a) {
          // `key: value`: the mapping is at the key's column; more indented than the innermost
          // collection, it is a compact one (`- key: v`).
          // An empty key (`- : v`) puts the mapping at the colon.
          const keyCol = atNode ? col : tokenCol;
          if (keyCol > top() && (pushBlock(keyCol, false) || keyMax + 1 > limit)) return pos;
          indentNext = keyCol + 1;
        } else {
          if (col > top() && pushBlock(col, c === 0x2d)) return pos;
          indentNext = col + 1;
        }
        pos++;
        atNode = true;
        plain = false;
        continue;
      }
      if (atNode) {
        tokenCol = pos - col0;
        keyMax = 0;
        if (c === 0x2a /* * */) {
          // An alias: a whole node.
          while (pos < text.length && !endsToken(text.charCodeAt(pos))) pos++;
          atNode = plain = false;
          continue;
        }
      }
      atNode = false;
      plain = true;
      // The rest of the plain scalar, at one comparison a character (most of a large policy).
      const stop = flow.length > 0 ? STOP_FLOW : STOP_BLOCK;
      for (pos++; pos < text.length; pos++) {
        const d = text.charCodeAt(pos);
        if (d < 128 && stop[d]) break;
      }
    }
  }
  return undefined;
}
