// Markdown (the README's subset: headings, paragraphs, lists, code, GFM tables, inline code,
// emphasis, links) to man(7) roff, for the man pages in man/. The markdown is parsed by
// mdast-util-from-markdown with the GFM table extension; this file only writes roff, so that the
// output is plain man(7) + tbl(1) that `groff -ww` and `man --warnings` accept without a warning:
// every `-` is `\-` (so options copy as ASCII), every non-ASCII character a `\[uXXXX]` escape,
// every table cell a text block that wraps.

import type { Heading, List, ListItem, PhrasingContent, Root, RootContent, Table } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmTableFromMarkdown } from 'mdast-util-gfm-table';
import { gfmTable } from 'micromark-extension-gfm-table';

export function parseMarkdown(text: string): Root {
  return fromMarkdown(text, { extensions: [gfmTable()], mdastExtensions: [gfmTableFromMarkdown()] });
}

/** Text for a roff line: backslashes, hyphens, non-ASCII escaped; a leading `.` or `'` guarded. */
export function escapeRoff(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.codePointAt(0)!;
    if (c === '\\') out += '\\e';
    else if (c === '-') out += '\\-';
    else if (code > 0x7e) out += `\\[u${code.toString(16).toUpperCase().padStart(4, '0')}]`;
    else if (c === '\t') out += '    ';
    else out += c;
  }
  return out;
}

/** A line that roff must not take for a request. */
function guardLine(line: string): string {
  return /^[.']/.test(line) ? `\\&${line}` : line;
}

/** A macro argument in double quotes. */
export function quoteArg(text: string): string {
  return `"${escapeRoff(text).replace(/"/g, '\\(dq')}"`;
}

type Font = 'R' | 'B' | 'I';

function phrasing(nodes: readonly PhrasingContent[], font: Font = 'R'): string {
  return nodes.map((n) => inline(n, font)).join('');
}

function inline(node: PhrasingContent, font: Font): string {
  switch (node.type) {
    case 'text':
      return escapeRoff(node.value.replace(/\s*\n\s*/g, ' '));
    case 'inlineCode':
      return `\\f${font === 'R' ? 'B' : font}${escapeRoff(node.value)}\\f${font}`;
    case 'strong':
      return `\\fB${phrasing(node.children, 'B')}\\f${font}`;
    case 'emphasis':
      return `\\fI${phrasing(node.children, 'I')}\\f${font}`;
    case 'link': {
      const text = phrasing(node.children, font);
      // In-page anchors and the repository's own files read as their text; a web address is kept.
      return /^[a-z]+:/.test(node.url) ? `${text} <${escapeRoff(node.url)}>` : text;
    }
    case 'break':
      return '\n.br\n';
    case 'html':
      return escapeRoff(node.value); // `<file>` in a description is text, not markup
    default:
      return 'children' in node ? phrasing(node.children as PhrasingContent[], font) : escapeRoff('value' in node ? String(node.value) : '');
  }
}

/** Phrasing content as roff lines (a `.br` inside starts a new line). */
function textLines(nodes: readonly PhrasingContent[]): string {
  return phrasing(nodes)
    .split('\n')
    .map((l) => guardLine(l.trim()))
    .filter((l) => l !== '')
    .join('\n');
}

export interface RoffOptions {
  /** The heading depth that becomes `.SH` (deeper ones `.SS`). */
  readonly sectionDepth: number;
}

function heading(node: Heading, options: RoffOptions): string {
  const title = plain(node.children);
  return node.depth <= options.sectionDepth ? `.SH ${quoteArg(title.toUpperCase())}` : `.SS ${quoteArg(title)}`;
}

/** The text of phrasing content, without markup. */
export function plain(nodes: readonly PhrasingContent[]): string {
  return nodes.map((n) => ('value' in n ? n.value : 'children' in n ? plain(n.children as PhrasingContent[]) : '')).join('');
}

function code(value: string): string {
  const lines = value.split('\n').map((l) => guardLine(escapeRoff(l)) || '\\&');
  return ['.PP', '.RS 4', '.nf', ...lines, '.fi', '.RE'].join('\n');
}

function list(node: List, options: RoffOptions, depth: number): string {
  const out: string[] = [];
  if (depth > 0) out.push('.RS');
  node.children.forEach((item, i) => out.push(listItem(item, node.ordered ? `${(node.start ?? 1) + i}.` : '\\(bu', options, depth)));
  if (depth > 0) out.push('.RE');
  return out.join('\n');
}

function listItem(item: ListItem, tag: string, options: RoffOptions, depth: number): string {
  const out: string[] = [];
  let first = true;
  for (const child of item.children) {
    if (child.type === 'paragraph') {
      out.push(first ? `.IP ${tag} 2` : '.IP "" 2', textLines(child.children));
    } else if (child.type === 'list') {
      if (first) out.push(`.IP ${tag} 2`);
      out.push(list(child, options, depth + 1));
    } else {
      if (first) out.push(`.IP ${tag} 2`);
      out.push(block(child, options, depth));
    }
    first = false;
  }
  return out.join('\n');
}

/**
 * A tbl(1) table, boxed. Columns of short cells keep their width; the others (and always the
 * last, which takes the rest of the line) are text blocks that wrap, left-aligned.
 */
function table(node: Table): string {
  const columns = Math.max(...node.children.map((row) => row.children.length));
  const cells = node.children.map((row) => Array.from({ length: columns }, (_, i) => row.children[i]?.children ?? []));
  const wraps = Array.from({ length: columns }, (_, i) => i === columns - 1 || cells.some((row) => plain(row[i]!).length > 24));
  const cell = (nodes: readonly PhrasingContent[], i: number): string => {
    const text = textLines(nodes).replace(/\n/g, ' ') || '\\&';
    return wraps[i] ? `T{\n${text}\nT}` : text;
  };
  const format = (bold: boolean): string =>
    Array.from({ length: columns }, (_, i) => `${bold ? 'lb' : 'l'}${i === columns - 1 ? 'x' : wraps[i] ? 'w(16n)' : ''}`).join(' ');
  const rows = cells.map((row) => row.map(cell).join('\t'));
  return ['.PP', '.ad l', '.TS', 'allbox tab(\t);', format(true), `${format(false)}.`, ...rows, '.TE', '.ad'].join('\n');
}

function block(node: RootContent, options: RoffOptions, depth = 0): string {
  switch (node.type) {
    case 'heading':
      return heading(node, options);
    case 'paragraph':
      return `.PP\n${textLines(node.children)}`;
    case 'code':
      return code(node.value);
    case 'list':
      return list(node, options, depth);
    case 'table':
      return table(node);
    case 'blockquote':
      return ['.RS 4', ...node.children.map((c) => block(c, options, depth)), '.RE'].join('\n');
    case 'html':
    case 'definition':
    case 'thematicBreak':
      return '';
    default:
      throw new Error(`markdown → roff: no rule for a ${node.type} node`);
  }
}

/** Block content as roff: headings of `sectionDepth` (and above) become `.SH`, deeper ones `.SS`. */
export function toRoff(nodes: readonly RootContent[], options: RoffOptions): string {
  return nodes
    .map((n) => block(n, options))
    .filter((s) => s !== '')
    .join('\n');
}

/** The blocks of `root` under the heading whose text is `title`, up to the next heading of its depth or above. */
export function section(root: Root, title: string): { heading: Heading; body: RootContent[] } {
  const start = root.children.findIndex((n) => n.type === 'heading' && plain(n.children) === title);
  if (start < 0) throw new Error(`README has no section "${title}"`);
  const heading = root.children[start] as Heading;
  let end = start + 1;
  while (end < root.children.length) {
    const n = root.children[end]!;
    if (n.type === 'heading' && n.depth <= heading.depth) break;
    end++;
  }
  return { heading, body: root.children.slice(start + 1, end) };
}
