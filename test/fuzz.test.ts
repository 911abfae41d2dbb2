// Fuzz: thousands of seeded mutations of every policy fixture, each run through the CLI's own
// entry in-process (`check`, or `compile --format all -o DIR`), as a policy file on disk. Whatever the
// input, the answer is ok (exit 0) or invalid (exit 2, numbered diagnostics) — never a runtime
// failure (exit 1), a stack trace, a control character on the terminal, or a hang.
// FUZZ_SEED=n reproduces a run; FUZZ_CASES=n sets its length.

import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { LINE_MAX } from '../src/policy/diagnostics.js';
import { cases, readPolicy } from './helpers/fixtures.js';
import { ROOT } from './helpers/cli.js';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const CASES = Number(process.env.FUZZ_CASES ?? 4000);
const PORTS_FROM = join(ROOT, 'test/fixtures/valid/ports-policy/ports.json');
/** Generous: a case takes milliseconds; this only turns a hang or a blow-up into a failure. */
const CASE_BOUND_MS = 10_000;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

// What hostile or broken policies are made of: YAML structure, tags, anchors, odd numbers and
// ports, line endings, controls and bidi characters, long and deep things.
const TOKENS = [
  '- ', ': ', '? ', '[', ']', '{', '}', ', ', '"', "'", '#', ' # c', '&a ', '*a', '!!binary ', '!!str ', '!foo ', '! ', '|', '>-', '|2',
  '\n', '\r', '\r\n', '\t', '  ', '\n---\n', '\n...\n', '%YAML 1.2\n---\n', '~', 'null', 'true', '0x1', '1e0', '01', '0o7', '.inf', '-1',
  '1.0', '+1', 'tcp/080', 'tcp/0', 'udp/1-65535', 'sctp/99999', 'icmp', 'icmpv6/1', '192.0.2.1/8', '0.0.0.0/0', '::', '2001:db8::/129',
  '10.0.0.1-10.0.0.0', 'a_t', 'Bad-Name', 'unconfined_t', 'apps', 'connect', 'serve', 'to', 'from', 'ports', 'domain', 'groups', 'version',
  'unlabeled', 'loader', 'level', 's0-s0:c0.c1023', 'table', 'policy', 'deny', '\u202e', '\u2066', '\x1b[8m', '\0', '\ufeff', '\u2028', '\x85',
  'é', '中', '😀', '\ud800', '\\', '\\x1b', '"\\e[31m"', '<<: *a',
];

interface Mutator {
  (text: string, random: () => number, donors: readonly string[]): string;
}

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const at = (random: () => number, text: string): number => Math.floor(random() * (text.length + 1));

const MUTATORS: Mutator[] = [
  (text, r) => {
    const i = at(r, text);
    return text.slice(0, i) + pick(r, TOKENS) + text.slice(i);
  },
  (text, r) => {
    const i = at(r, text);
    return text.slice(0, i) + text.slice(i + 1 + Math.floor(r() * 20));
  },
  (text, r) => {
    const lines = text.split('\n');
    const i = Math.floor(r() * lines.length);
    lines.splice(i, 0, lines[i]!);
    return lines.join('\n');
  },
  (text, r) => {
    const lines = text.split('\n');
    const i = Math.floor(r() * lines.length);
    const j = Math.floor(r() * lines.length);
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
    return lines.join('\n');
  },
  (text, r) => {
    const lines = text.split('\n');
    const i = Math.floor(r() * lines.length);
    const shift = Math.floor(r() * 9) - 4;
    lines[i] = shift >= 0 ? ' '.repeat(shift) + lines[i] : lines[i]!.replace(new RegExp(`^ {0,${-shift}}`), '');
    return lines.join('\n');
  },
  (text, r, donors) => {
    const donor = pick(r, donors);
    const from = at(r, donor);
    const i = at(r, text);
    return text.slice(0, i) + donor.slice(from, from + Math.floor(r() * 200)) + text.slice(i + Math.floor(r() * 50));
  },
  // Repetition: deep nesting, long lists and long scalars come from here.
  (text, r) => {
    const i = at(r, text);
    const unit = r() < 0.5 ? pick(r, ['[', '{a: ', '- ', '[a: ', '? ', 'x', ' ', '\n', 'tcp/0, ', '"', '\u202e']) : text.slice(i, i + 1 + Math.floor(r() * 12));
    return text.slice(0, i) + unit.repeat(1 + Math.floor(r() ** 4 * 3000)) + text.slice(i);
  },
  (text, r) => {
    // Indentation that grows line by line: block nesting, closed at once by the next line.
    const i = text.indexOf('\n', at(r, text));
    if (i < 0) return text;
    const levels = Math.floor(r() ** 4 * 2000);
    const indicator = pick(r, ['k:', '-', '- k:', '? k']);
    let nest = '';
    for (let n = 0; n < levels; n++) nest += `${' '.repeat(n + 1)}${indicator}\n`;
    return text.slice(0, i + 1) + nest + text.slice(i + 1);
  },
  (text, r) => text.replace(/\d/g, (d) => (r() < 0.2 ? String(Math.floor(r() * 10)) : d)),
];

function mutate(text: string, random: () => number, donors: readonly string[]): string {
  let out = text;
  for (let n = 1 + Math.floor(random() * 4); n > 0; n--) out = pick(random, MUTATORS)(out, random, donors);
  return out;
}

interface Outcome {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** The CLI's main() in this process, its output captured and its exit code read. */
async function runInProcess(args: readonly string[]): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  const capture = (sink: string[]) => ((chunk: string | Uint8Array): boolean => {
    sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  process.exitCode = undefined;
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  const start = performance.now();
  try {
    await main(['node', 'secmarkc', ...args]);
  } catch (error) {
    err.push(`THROWN: ${error instanceof Error ? error.stack : String(error)}`);
    process.exitCode = 99;
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
  const ms = performance.now() - start;
  const status = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { status, stdout: out.join(''), stderr: err.join(''), ms };
}

const DIAGNOSTIC = /^.*:\d+:\d+: (?:error|warning) SMC\d{3}: /;
const SUMMARY = /^secmarkc: \d+ errors?$/;
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/** What is wrong with an outcome, or undefined. */
function problem(o: Outcome): string | undefined {
  if (o.status !== 0 && o.status !== 2) return `exit ${o.status}`;
  if (o.ms > CASE_BOUND_MS) return `took ${Math.round(o.ms)} ms`;
  const lines = o.stderr.split('\n').slice(0, -1);
  if (!o.stderr.endsWith('\n') && o.stderr !== '') return 'stderr does not end with a line break';
  for (const line of lines) {
    if (!DIAGNOSTIC.test(line) && !SUMMARY.test(line)) return `unexpected stderr line: ${JSON.stringify(line.slice(0, 300))}`;
    if (UNSAFE.test(line.replace(/\t/g, ''))) return `control or bidi character printed: ${JSON.stringify(line.slice(0, 300))}`;
    if (line.length > LINE_MAX + 40) return `a diagnostic of ${line.length} characters`;
  }
  // The compiled output is built from validated names only.
  if (UNSAFE.test(o.stdout.replace(/[\n\t]/g, ''))) return `control or bidi character in the output: ${JSON.stringify(o.stdout.slice(0, 300))}`;
  if (o.status === 2 && !lines.some((l) => SUMMARY.test(l))) return 'invalid without a summary line';
  if (o.status === 0 && lines.some((l) => / error SMC/.test(l))) return 'exit 0 with errors';
  return undefined;
}

test('fuzz: mutated fixtures through the CLI in-process are ok or invalid (0 or 2), never 1, never a trace', async (t) => {
  const seeds = [
    ...cases('valid').map((c) => readPolicy(c.dir)),
    ...cases('invalid').map((c) => readPolicy(c.dir)),
    ...readdirSync(join(ROOT, 'examples'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => readFileSync(join(ROOT, 'examples', f), 'utf8')),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-fuzz-'));
  const random = prng(SEED);
  const counts = { ok: 0, invalid: 0 };
  let slowest = 0;
  try {
    for (let n = 0; n < CASES; n++) {
      const text = mutate(pick(random, seeds), random, seeds);
      const file = join(dir, `case-${n}.yaml`);
      writeFileSync(file, text);
      // The port labels of `ports: policy` from a file: asking seinfo takes seconds a case.
      const args = [...(random() < 0.25 ? ['compile', '--format', 'all', '-o', join(dir, 'out')] : ['check']), '--ports-from', PORTS_FROM, file];
      const outcome = await runInProcess(args);
      rmSync(file);
      slowest = Math.max(slowest, outcome.ms);
      const wrong = problem(outcome);
      if (wrong) {
        t.log(`seed ${SEED}, case ${n} of ${CASES} (FUZZ_SEED=${SEED} reproduces it): secmarkc ${args.join(' ')}`);
        t.log(`policy (${text.length} characters): ${JSON.stringify(text.length > 2000 ? text.slice(0, 2000) + '…' : text)}`);
        t.log(`stderr: ${outcome.stderr.slice(0, 2000)}`);
        t.fail(wrong);
        return;
      }
      if (outcome.status === 0) counts.ok++;
      else counts.invalid++;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.log(`seed ${SEED}: ${CASES} cases, ${counts.ok} ok, ${counts.invalid} invalid; slowest ${Math.round(slowest)} ms (FUZZ_SEED=${SEED} repeats this run)`);
  // A mutator that only ever breaks the policy would test the parser and nothing after it.
  t.true(counts.ok > CASES / 100, `only ${counts.ok} of ${CASES} mutated policies were valid`);
  t.true(counts.invalid > CASES / 2, `only ${counts.invalid} of ${CASES} mutated policies were invalid`);
});
