// The two YAML front ends must build the same tree: yaml-fast.ts (js-yaml events) is what runs
// for nearly every policy, yaml-full.ts (the `yaml` library) is the reference for positions.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { generatePolicy } from '../bench/generate.js';
import { parseYamlFast } from '../src/policy/yaml-fast.js';
import { parseYamlFull } from '../src/policy/yaml-full.js';
import type { YamlNode } from '../src/policy/yaml-tree.js';
import { cases, readPolicy } from './helpers/fixtures.js';

const EXAMPLE = new URL('../examples/browser-proxy.yaml', import.meta.url).pathname;

/**
 * What the policy reader relies on: structure, values, where every node starts and where every
 * scalar ends. The two libraries place empty values and the ends of block collections followed
 * by comments differently; nothing reads those.
 */
function comparable(node: YamlNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value === null && node.start === node.end ? { empty: true } : node;
    case 'alias':
      return node;
    case 'seq':
      return { kind: 'seq', start: node.start, items: node.items.map(comparable) };
    case 'map':
      return { kind: 'map', start: node.start, pairs: node.pairs.map((p) => [comparable(p.key), comparable(p.value)]) };
  }
}

function sameTree(t: ExecutionContext, text: string, name: string): void {
  const fast = parseYamlFast(text);
  const full = parseYamlFull(text);
  if (fast === undefined) return;
  t.true(full.ok, `${name}: the fast front end accepted what the reference rejects`);
  if (full.ok) t.deepEqual(comparable(fast), full.root && comparable(full.root), name);
}

test('every valid fixture, the example and the benchmark policies take the fast path, with the reference tree', (t) => {
  const texts: [string, string][] = [
    ...cases('valid').map((c): [string, string] => [c.name, readPolicy(c.dir)]),
    ['example', readFileSync(EXAMPLE, 'utf8')],
    ['bench 1,000', generatePolicy(1000)],
  ];
  for (const [name, text] of texts) {
    t.not(parseYamlFast(text), undefined, `${name} fell back to the slow front end`);
    sameTree(t, text, name);
  }
});

test('invalid fixtures: the fast tree, when there is one, is the reference tree', (t) => {
  for (const c of cases('invalid')) sameTree(t, readPolicy(c.dir), c.name);
  t.pass();
});

test('the fast front end declines aliases and syntax errors (the reference reports them)', (t) => {
  t.is(parseYamlFast('a: &x [1]\nb: *x\n'), undefined);
  t.is(parseYamlFast('a: &x 1\nb: *x\n'), undefined);
  t.is(parseYamlFast('a: !!str 1\n'), undefined);
  t.is(parseYamlFast('a: [1\n'), undefined);
  t.is(parseYamlFast('a: 1\n---\nb: 2\n'), undefined);
  t.is(parseYamlFast(''), undefined);
});

test('the fast front end declines what js-yaml reads otherwise than the reference', (t) => {
  // A lone CR: js-yaml breaks the line there, the reference reads it as content.
  t.is(parseYamlFast('apps:\n  \rbrowser:\n    domain: a_t\n'), undefined);
  // What js-yaml only warns about: a flow collection's line indented less than its key.
  t.is(parseYamlFast('a: [b,\nc]\n'), undefined);
  // An implicit key longer than YAML's 1,024 characters.
  t.is(parseYamlFast(`${'k'.repeat(1100)}: 1\n`), undefined);
  // CR LF is a line break for both.
  const crlf = 'a: 1\r\nb: [c,\r\n  d]\r\n';
  t.not(parseYamlFast(crlf), undefined);
  sameTree(t, crlf, 'CR LF');
});

test('duplicate keys reach the reader as two pairs, as from the reference', (t) => {
  const text = 'a: 1\nb: 2\na: 3\n';
  const fast = parseYamlFast(text);
  t.is(fast?.kind === 'map' ? fast.pairs.length : -1, 3);
  sameTree(t, text, 'duplicates');
});

// Random YAML documents of the shapes policies use: block and flow collections, comments,
// quoted and plain scalars, numbers, nulls, odd spacing.
const scalar = fc.oneof(
  fc.constantFrom('tcp/443', '192.0.2.1', '"2001:db8::1"', "'quoted'", '1', '0x1f', '1.5', 'null', '~', 'true', 'x y', 'a#b', '-1', '"a\\"b"'),
  fc.stringMatching(/^[a-z][a-z0-9_./-]{0,8}$/),
);
const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/);
const comment = fc.constantFrom('', '', ' # note', '  #');
type Doc = { text: (indent: number) => string };
const flow: fc.Arbitrary<string> = fc.letrec<{ f: string }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('f'), { maxLength: 4 }).map((xs) => `[${xs.join(', ')}]`),
    fc.array(fc.tuple(key, tie('f')), { maxLength: 3 }).map((kv) => `{${kv.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
  ),
})).f;
const block: fc.Arbitrary<Doc> = fc.letrec<{ b: Doc }>((tie) => ({
  b: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    flow.map((f) => ({ text: () => f })),
    fc.array(fc.tuple(key, tie('b'), comment), { minLength: 1, maxLength: 4 }).map((kv) => ({
      text: (indent: number) => {
        const pad = ' '.repeat(indent);
        const unique = kv.filter(([k], i) => kv.findIndex(([k2]) => k2 === k) === i);
        return '\n' + unique.map(([k, v, c]) => `${pad}${k}:${c ? c : ''} ${v.text(indent + 2)}`).join('\n');
      },
    })),
    fc.array(fc.tuple(tie('b'), comment), { minLength: 1, maxLength: 4 }).map((xs) => ({
      text: (indent: number) => '\n' + xs.map(([v, c]) => `${' '.repeat(indent)}-${c ? c + '\n' + ' '.repeat(indent + 2) : ' '}${v.text(indent + 2).replace(/^\n\s*/, '')}`).join('\n'),
    })),
  ),
})).b;

const documents = fc.array(fc.tuple(key, block), { minLength: 1, maxLength: 5 }).map((top) => {
  const unique = top.filter(([k], i) => top.findIndex(([k2]) => k2 === k) === i);
  return unique.map(([k, v]) => `${k}: ${v.text(2)}`).join('\n') + '\n';
});

test('random documents: the fast tree equals the reference tree whenever the fast path is taken', (t) => {
  let taken = 0;
  fc.assert(
    fc.property(documents, (text) => {
      const fast = parseYamlFast(text);
      if (fast === undefined) return true;
      taken++;
      const full = parseYamlFull(text);
      return full.ok && full.root !== undefined && JSON.stringify(comparable(full.root)) === JSON.stringify(comparable(fast));
    }),
    { numRuns: 400 },
  );
  t.true(taken > 200, `the fast path was taken for only ${taken} of 400 documents`);
});
