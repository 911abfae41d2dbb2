// The bounds of src/policy/limits.ts: hostile input ends as a numbered diagnostic at a position
// (exit 2, so `apply --on-invalid` acts), never as a crash, a hang or unbounded memory.

import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy } from '../src/compile/compile.js';
import { formatDiagnostic } from '../src/policy/diagnostics.js';
import { LIMITS } from '../src/policy/limits.js';
import { findExcessiveNesting } from '../src/policy/nesting.js';
import { parseYamlFast } from '../src/policy/yaml-fast.js';
import { parseYamlFull } from '../src/policy/yaml-full.js';
import type { YamlNode } from '../src/policy/yaml-tree.js';
import { cases, readPolicy } from './helpers/fixtures.js';
import { ROOT, runCli } from './helpers/cli.js';
import { firstInvalidUtf8 } from '../src/cli/io.js';

const HEAD = 'version: 1\nunlabeled: allow\napps:\n  a:\n    domain: a_t\n    connect:\n      - ports: [tcp/80]\n    description:';
/** Collections around the value of "description": the policy, "apps", the app. */
const AROUND = 3;

/**
 * Ways to nest `levels` collections as the value of "description" (so `AROUND + levels` in all),
 * with a line at the top level after them, whose dedent closes every level at once (what made the
 * `yaml` library's CST parser overflow with a RangeError that nothing caught: exit 1).
 */
const SHAPES: Record<string, (levels: number) => string> = {
  'flow lists': (n) => ` ${'['.repeat(n)}${']'.repeat(n)}`,
  'flow mappings': (n) => ` ${'{a: '.repeat(n)}1${'}'.repeat(n)}`,
  'pairs in flow lists': (n) => ` ${'[a: '.repeat(n / 2)}1${']'.repeat(n / 2)}`,
  'block mappings': (n) => '\n' + Array.from({ length: n }, (_, i) => `${' '.repeat(6 + i)}k:\n`).join('') + `${' '.repeat(6 + n)}x`,
  'block lists': (n) => '\n' + Array.from({ length: n }, (_, i) => `${' '.repeat(6 + i)}-\n`).join('') + `${' '.repeat(6 + n)}x`,
  'compact lists': (n) => `\n      ${'- '.repeat(n)}x`,
  'compact mappings in lists': (n) => '\n' + Array.from({ length: n / 2 }, (_, i) => `${' '.repeat(6 + 4 * i)}- k:\n`).join('') + `${' '.repeat(6 + 2 * n)}x`,
};
const nested = (shape: string, levels: number): string => `${HEAD}${SHAPES[shape]!(levels)}\nlevel: s0\n`;

/** A directory of the test's own, removed when it ends. */
function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-limits-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function codes(text: string): string[] {
  return compilePolicy(text, 'policy.yaml').diagnostics.map((d) => d.code);
}

for (const shape of Object.keys(SHAPES)) {
  test(`nesting, ${shape}: ${LIMITS.nesting} levels pass the limit, one more is SMC092 where it starts`, (t) => {
    const inner = LIMITS.nesting - AROUND;
    t.false(codes(nested(shape, inner)).includes('SMC092'), `${LIMITS.nesting} levels are allowed`);
    const text = nested(shape, inner + 2);
    const result = compilePolicy(text, 'policy.yaml');
    t.deepEqual(result.diagnostics.map((d) => d.code), ['SMC092'], result.diagnostics.map(formatDiagnostic).join('\n'));
    // The position is that of a collection opener beyond the limit, inside the nested value.
    const { line, col } = result.diagnostics[0]!.span;
    const offset = text.split('\n').slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + col - 1;
    t.true(offset > HEAD.length && /[[{\-:k]/.test(text[offset]!), `reported at ${line}:${col} (${JSON.stringify(text.slice(offset, offset + 5))})`);
  });
}

test('nesting: thousands of levels (where the parsers overflowed) are SMC092 of any shape', (t) => {
  for (const shape of Object.keys(SHAPES)) {
    for (const levels of [1000, 1800, shape.startsWith('block') || shape.startsWith('compact mappings') ? 3000 : 100_000]) {
      t.deepEqual(codes(nested(shape, levels)), ['SMC092'], `${shape}, ${levels} levels`);
    }
  }
});

test('nesting: the CLI reports deep nesting with its position, exit 2, and apply --on-invalid acts on it', (t) => {
  const dir = tempDir(t);
  const policy = join(dir, 'deep.yaml');
  writeFileSync(policy, nested('block mappings', 1800));
  const check = runCli(['check', policy]);
  t.is(check.status, 2, check.stderr);
  t.regex(check.stderr, new RegExp(`^${policy}:\\d+:\\d+: error SMC092: nesting deeper than ${LIMITS.nesting} levels`, 'm'));
  t.notRegex(check.stderr, /call stack|\n\s+at /, 'no RangeError, no stack trace');
  const apply = runCli(['apply', '--dry-run', '--on-invalid', 'lockdown', '--state-dir', dir, policy]);
  t.is(apply.status, 2, apply.stderr);
  t.regex(apply.stdout, /^would lock down table inet secmarkc/m);
});

test('nesting: the reference YAML parser reports its own stack overflow instead of throwing', (t) => {
  // Past the scan (as if it missed something): the CST parser recurses once per level a dedent closes.
  const bomb = Array.from({ length: 20_000 }, (_, i) => `${' '.repeat(i)}k:\n`).join('') + 'top: 1\n';
  const full = parseYamlFull(bomb);
  t.true(!full.ok && full.errors.some((e) => e.tooDeep), JSON.stringify(full.ok ? 'parsed' : full.errors.slice(0, 2)));
  t.is(parseYamlFast(bomb), undefined);
});

// The scan must never count fewer levels than a parser builds: random documents of the shapes
// YAML allows (block and flow, compact, quoted and block scalars, comments, tags, anchors),
// mutated, compared with the trees of both front ends.
function treeDepth(node: YamlNode | undefined): number {
  if (!node) return 0;
  if (node.kind === 'seq') return 1 + Math.max(0, ...node.items.map(treeDepth));
  if (node.kind === 'map') return 1 + Math.max(0, ...node.pairs.flatMap((p) => [treeDepth(p.key), treeDepth(p.value)]));
  return 0;
}

function scanDepth(text: string): number {
  let limit = 0;
  while (findExcessiveNesting(text, limit) !== undefined) limit++;
  return limit;
}

const scalar = fc.constantFrom('x', 'tcp/80', '"a: [b"', "'it''s ['", '"]"', 'a#b', 'a - b', 'http://x', '!!str s', '&a v', '*a', '? k', '- ', '"multi\n  line ["', '|\n  [ - a: b\n', '>-\n   {x\n', '', '1', '0x1');
const key = fc.constantFrom('k', 'a', '"q k"', "'s'", '? e', '[f]', '{m: 1}');
const fragment: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('node'), { maxLength: 3 }).map((xs) => `[${xs.join(', ')}]`),
    fc.array(fc.tuple(key, tie('node')), { maxLength: 3 }).map((kv) => `{${kv.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
    fc.array(fc.tuple(key, tie('node')), { maxLength: 3 }).map((kv) => `[${kv.map(([k, v]) => `${k}: ${v}`).join(', ')}]`),
  ),
})).node;
const block: fc.Arbitrary<(indent: number) => string> = fc.letrec<{ b: (indent: number) => string }>((tie) => ({
  b: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fragment.map((f) => () => ` ${f}`),
    fc.array(fc.tuple(key, tie('b'), fc.constantFrom('', ' # c', '\n#c')), { minLength: 1, maxLength: 3 }).map((kv) => (indent: number) =>
      kv.map(([k, v, c]) => `\n${' '.repeat(indent)}${k}:${c}${v(indent + 2)}`).join(''),
    ),
    fc.array(tie('b'), { minLength: 1, maxLength: 3 }).map((xs) => (indent: number) => xs.map((v) => `\n${' '.repeat(indent)}-${v(indent + 2)}`).join('')),
    fc.tuple(tie('b'), fc.constantFrom('- ', '- - ', '? ', '- k: ')).map(([v, compact]) => (indent: number) => `\n${' '.repeat(indent)}${compact}${v(indent + compact.length).replace(/^\n\s*/, '')}`),
  ),
})).b;
const mutation = fc.tuple(fc.nat(), fc.constantFrom('', '- ', '[', ']', '{', '}', ': ', '? ', '"', "'", '|\n', '>2\n', '\n', '\n  ', '\r', '\r\n', '\n---\n', ' #', '#', '\t', ','));
const fixtures = [...cases('valid'), ...cases('invalid')].map((c) => readPolicy(c.dir));
const base = fc.oneof(
  block.map((b) => `top:${b(2)}\nend: 1\n`),
  fc.constantFrom(...fixtures),
);
const document = fc.tuple(base, fc.array(mutation, { maxLength: 4 })).map(([start, edits]) => {
  let text = start;
  for (const [at, insert] of edits) {
    const i = at % (text.length + 1);
    text = text.slice(0, i) + insert + text.slice(i);
  }
  return text;
});

test('the nesting scan never counts fewer levels than either YAML front end builds', (t) => {
  let compared = 0;
  const check = (text: string): boolean => {
    const scan = scanDepth(text);
    const full = parseYamlFull(text);
    const fast = parseYamlFast(text);
    if (full.ok) compared++;
    return (!full.ok || scan >= treeDepth(full.root)) && (fast === undefined || scan >= treeDepth(fast));
  };
  for (const kind of ['valid', 'invalid'] as const) for (const c of cases(kind)) t.true(check(readPolicy(c.dir)), c.name);
  fc.assert(fc.property(document, check), { numRuns: Number(process.env.NESTING_RUNS ?? 1500) });
  t.true(compared > 200, `only ${compared} documents parsed: the generator tests little`);
});

test('the scan is exact on every valid fixture: a policy nests 6 levels', (t) => {
  for (const c of cases('valid')) {
    const text = readPolicy(c.dir);
    const tree = parseYamlFast(text);
    t.is(scanDepth(text), treeDepth(tree), c.name);
    t.true(scanDepth(text) <= 6, c.name);
  }
});

// Files.

test('input: a FIFO, a device and a directory are refused before reading (SMC090, exit 2)', (t) => {
  const dir = tempDir(t);
  const fifo = join(dir, 'policy.fifo');
  t.is(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const expected: [string, string][] = [
    [fifo, 'a FIFO'],
    ['/dev/zero', 'a character device'],
    [dir, 'a directory'],
  ];
  for (const [path, kind] of expected) {
    // A FIFO without a writer used to block forever: the timeout only guards the test run.
    const r = spawnSync(process.execPath, ['--import=tsx', join(ROOT, 'test/helpers/cli-entry.ts'), 'check', path], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    t.is(r.status, 2, `${path}: ${r.stderr}`);
    t.is(r.stderr, `${path}:1:1: error SMC090: the policy is ${kind}, not a regular file (use "-" to read it from stdin)\nsecmarkc: 1 error\n`);
  }
  const apply = runCli(['apply', '--dry-run', '--on-invalid', 'lockdown', '--state-dir', dir, '/dev/zero']);
  t.is(apply.status, 2, apply.stderr);
  t.regex(apply.stdout, /^would lock down table inet secmarkc/m, '--on-invalid acts');
});

test(`input: a file over ${LIMITS.policyBytes} bytes is refused before reading, one of exactly that size is read`, (t) => {
  const dir = tempDir(t);
  const big = join(dir, 'big.yaml');
  const fd = openSync(big, 'w');
  ftruncateSync(fd, LIMITS.policyBytes + 1); // sparse: costs no disk
  closeSync(fd);
  const r = runCli(['check', big]);
  t.is(r.status, 2, r.stderr);
  t.is(r.stderr, `${big}:1:1: error SMC091: the policy has ${LIMITS.policyBytes + 1} bytes; at most ${LIMITS.policyBytes} bytes (16 MiB) are read\nsecmarkc: 1 error\n`);

  const policy = 'version: 1\nunlabeled: allow\napps:\n  a:\n    domain: a_t\n    connect:\n      - ports: [tcp/80]\n#';
  const exact = join(dir, 'exact.yaml');
  writeFileSync(exact, policy + 'x'.repeat(LIMITS.policyBytes - policy.length - 1) + '\n');
  const ok = runCli(['check', exact]);
  t.is(ok.status, 0, ok.stderr);
});

test('input: stdin is read up to the limit and refused beyond it (SMC091 at <stdin>:1:1)', (t) => {
  const r = runCli(['check', '-'], '#'.repeat(LIMITS.policyBytes + 1));
  t.is(r.status, 2);
  t.is(r.stderr, `<stdin>:1:1: error SMC091: the policy has more than ${LIMITS.policyBytes} bytes; at most ${LIMITS.policyBytes} bytes (16 MiB) are read\nsecmarkc: 1 error\n`);
});

test('input: --ports-from FILE has the limits of a policy file: regular, bounded, refused with its position and exit 2', (t) => {
  const dir = tempDir(t);
  const policy = join(ROOT, 'test/fixtures/valid/ports-policy/policy.yaml');
  const fifo = join(dir, 'ports.fifo');
  t.is(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const big = join(dir, 'ports.json');
  const fd = openSync(big, 'w');
  ftruncateSync(fd, LIMITS.policyBytes + 1);
  closeSync(fd);
  const expected: [string, string][] = [
    [fifo, 'SMC090: the port table (--ports-from) is a FIFO, not a regular file (use "-" to read it from stdin)'],
    ['/dev/zero', 'SMC090: the port table (--ports-from) is a character device, not a regular file (use "-" to read it from stdin)'],
    [dir, 'SMC090: the port table (--ports-from) is a directory, not a regular file (use "-" to read it from stdin)'],
    [big, `SMC091: the port table (--ports-from) has ${LIMITS.policyBytes + 1} bytes; at most ${LIMITS.policyBytes} bytes (16 MiB) are read`],
  ];
  for (const [path, message] of expected) {
    // A FIFO without a writer blocked, /dev/zero grew without bound: the timeout only guards the test run.
    const r = spawnSync(process.execPath, ['--import=tsx', join(ROOT, 'test/helpers/cli-entry.ts'), 'check', policy, '--ports-from', path], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    t.is(r.status, 2, `${path}: ${r.stderr}`);
    t.is(r.stderr, `${path}:1:1: error ${message}\nsecmarkc: 1 error\n`);
  }
  const apply = runCli(['apply', '--dry-run', '--on-invalid', 'lockdown', '--state-dir', dir, '--ports-from', '/dev/zero', policy]);
  t.is(apply.status, 2, apply.stderr);
  t.regex(apply.stdout, /^would lock down table inet secmarkc/m, '--on-invalid acts');
});

test('input: a policy that is not valid UTF-8 is refused at its first bad byte (SMC099, exit 2), not read with U+FFFD in its place', (t) => {
  const dir = tempDir(t);
  const good = 'version: 1\nunlabeled: allow\napps:\n  a:\n    domain: a_t\n    description: "';
  const tail = '"\n    connect:\n      - ports: [tcp/80]\n';
  // [bytes after `description: "é`, the bad byte]: a stray continuation byte, 0xff, an overlong NUL,
  // a surrogate, a sequence cut short by the quote.
  const cases: [number[], number][] = [
    [[0x80], 0x80],
    [[0xff], 0xff],
    [[0xc0, 0x80], 0xc0],
    [[0xed, 0xa0, 0x80], 0xed],
    [[0xe2, 0x82], 0xe2],
    [[0xf4, 0x90, 0x80, 0x80], 0xf4],
  ];
  for (const [bad, first] of cases) {
    const bytes = Buffer.concat([Buffer.from(good + 'é'), Buffer.from(bad), Buffer.from(tail)]);
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, bytes);
    const offset = Buffer.byteLength(good + 'é');
    // Line 6; columns count characters: `    description: "é` is 19 of them.
    const expected = `6:20: error SMC099: the policy is not valid UTF-8 (byte 0x${first.toString(16)} at offset ${offset}); save it as UTF-8\nsecmarkc: 1 error\n`;
    const r = runCli(['check', file]);
    t.is(r.status, 2, `${bad.join(' ')}: ${r.stderr}`);
    t.is(r.stderr, `${file}:${expected}`, bad.join(' '));
    const stdin = spawnSync(process.execPath, ['--import=tsx', join(ROOT, 'test/helpers/cli-entry.ts'), 'check', '-'], { cwd: ROOT, input: bytes, encoding: 'utf8' });
    t.is(stdin.stderr, `<stdin>:${expected}`, `stdin: ${bad.join(' ')}`);
  }
  const at = (bytes: Buffer) => {
    writeFileSync(join(dir, 'p.yaml'), bytes);
    return runCli(['check', join(dir, 'p.yaml')]).stderr.split(' error')[0];
  };
  t.is(at(Buffer.from([0xff])), `${join(dir, 'p.yaml')}:1:1:`, 'the first byte');
  t.is(at(Buffer.from([0x23, 0x0a, 0xf0, 0x9f, 0x98])), `${join(dir, 'p.yaml')}:2:1:`, 'cut short at the end');
  t.is(at(Buffer.concat([Buffer.from('# 😀'), Buffer.from([0xff])])), `${join(dir, 'p.yaml')}:1:5:`, 'columns count UTF-16 units, as the YAML parser\'s do');
  const apply = runCli(['apply', '--dry-run', '--on-invalid', 'lockdown', '--state-dir', dir, join(dir, 'policy.yaml')]);
  t.is(apply.status, 2, apply.stderr);
  t.regex(apply.stdout, /^would lock down table inet secmarkc/m, '--on-invalid acts');

  const ports = join(dir, 'ports.json');
  const head = '{"format": "secmarkc-ports/1", "labels": [], "skipped": [{"portType": "';
  writeFileSync(ports, Buffer.concat([Buffer.from(head), Buffer.from([0xfe]), Buffer.from('"}]}\n')]));
  const r = runCli(['check', join(ROOT, 'test/fixtures/valid/ports-policy/policy.yaml'), '--ports-from', ports]);
  t.is(r.status, 2, r.stderr);
  t.is(r.stderr, `${ports}:1:${head.length + 1}: error SMC099: the port table (--ports-from) is not valid UTF-8 (byte 0xfe at offset ${head.length}); save it as UTF-8\nsecmarkc: 1 error\n`);
});

test('the first bad byte is where a strict decoder stops: the bytes before it decode, the sequence there does not', (t) => {
  const strict = new TextDecoder('utf-8', { fatal: true });
  const valid = (bytes: Uint8Array): boolean => {
    try {
      strict.decode(bytes);
      return true;
    } catch {
      return false;
    }
  };
  // Mostly text, with bytes of every kind mixed in.
  const byte = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constantFrom(0xe0, 0xed, 0xf0, 0xf4, 0xc2));
  const text = fc.oneof(fc.string({ unit: 'grapheme' }).map((s) => [...Buffer.from(s)]), fc.array(byte, { maxLength: 12 }));
  fc.assert(
    fc.property(fc.array(text, { maxLength: 6 }), (parts) => {
      const bytes = Uint8Array.from(parts.flat());
      const at = firstInvalidUtf8(bytes);
      if (at === bytes.length) return valid(bytes);
      // Valid up to there, and no valid character starts there.
      return valid(bytes.subarray(0, at)) && ![1, 2, 3, 4].some((n) => at + n <= bytes.length && valid(bytes.subarray(at, at + n)));
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test(`problems: at most ${LIMITS.diagnostics} are printed, the rest counted (SMC094) and in the total`, (t) => {
  const count = 5000;
  const r = runCli(['check', '-'], `version: 1\nunlabeled: allow\napps:\n  a:\n    domain: a_t\n    connect:\n      - ports: [${Array(count).fill('tcp/0').join(', ')}]\n`);
  t.is(r.status, 2);
  const lines = r.stderr.trimEnd().split('\n');
  t.is(lines.length, LIMITS.diagnostics + 2);
  t.regex(lines[LIMITS.diagnostics]!, new RegExp(`^<stdin>:7:\\d+: error SMC094: ${count - LIMITS.diagnostics} more problems from here on are not reported`));
  t.is(lines.at(-1), `secmarkc: ${count} errors`);
});
