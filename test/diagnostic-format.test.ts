// The one diagnostic formatter: whatever a policy holds, a diagnostic is one line of bounded
// length with nothing a terminal or a log would act on (controls, bidi, separators).

import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { compilePolicy } from '../src/compile/compile.js';
import { DIAGNOSTIC_CODES, escapeText, formatDiagnostic, LINE_MAX, type DiagnosticCode } from '../src/policy/diagnostics.js';
import { ROOT, runCli } from './helpers/cli.js';

/** Written out here rather than shared with the formatter, so that a gap in one shows in the other. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
/** The longest a formatted line may be: LINE_MAX plus the note of what was cut. */
const BOUND = LINE_MAX + 40;

const CODES = Object.keys(DIAGNOSTIC_CODES) as DiagnosticCode[];

// Strings rich in what does harm: controls, bidi overrides and isolates, separators, zero-width
// characters, lone surrogates, quotes and backslashes, next to any code point at all.
const nasty = fc.constantFrom(
  '\n', '\r', '\t', '\x1b', '\x1b[8m', '\x1b]0;title\x07', '\0', '\x7f', '\x85', '\x9b', '\u2028', '\u2029',
  '\u202a', '\u202e', '\u2066', '\u2069', '\u200b', '\u200e', '\u061c', '\ufeff', '\u00ad', '\ud800', '\udfff',
  '\u{e0001}', '"', '\\', 'ok', 'secmarkc: ok',
);
const hostile = fc.array(fc.oneof(nasty, fc.string({ unit: 'binary', maxLength: 20 })), { maxLength: 30 }).map((parts) => parts.join(''));
const long = fc.tuple(hostile, fc.integer({ min: 0, max: 200_000 })).map(([s, n]) => s + 'x'.repeat(n) + s);

test('escapeText writes controls, bidi and separators as escapes, and the backslash doubled', (t) => {
  t.is(escapeText('a\nb\rc\td'), 'a\\nb\\rc\\td');
  t.is(escapeText('\x1b[8m\0\x7f\x9b'), '\\x1b[8m\\x00\\x7f\\x9b');
  t.is(escapeText('\u202e\u2066\u2028\u200b\ufeff'), '\\u202e\\u2066\\u2028\\u200b\\ufeff');
  t.is(escapeText('\ud800x\u{e0001}'), '\\ud800x\\u{e0001}');
  t.is(escapeText('C:\\x1b'), 'C:\\\\x1b', 'a backslash in the policy cannot pass for one of our escapes');
  t.is(escapeText('tcp/443 192.0.2.1 é ü 中'), 'tcp/443 192.0.2.1 é ü 中', 'ordinary text is unchanged');
});

test('every code, any message and file name: one line, no control or bidi character, bounded length', (t) => {
  fc.assert(
    fc.property(fc.constantFrom(...CODES), hostile, fc.oneof(hostile, long), hostile, fc.constantFrom('error' as const, 'warning' as const), (code, file, value, rest, severity) => {
      const message = `${rest} "${value}" ${rest}: "${value}${rest}`;
      const line = formatDiagnostic({ code, severity, message, span: { file, line: 3, col: 7, endLine: 3, endCol: 9 } });
      return !UNSAFE.test(line) && line.length <= BOUND && line.includes(` ${severity} ${code}: `);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('a long value is cut to its start and its length', (t) => {
  const value = 'a'.repeat(3 * 1024 * 1024);
  const line = formatDiagnostic({ code: 'SMC010', severity: 'error', message: `app name "${value}" must start with a lowercase letter`, span: { file: 'p.yaml', line: 1, col: 1, endLine: 1, endCol: 1 } });
  t.true(line.length < 300, `${line.length} characters`);
  t.regex(line, /^p\.yaml:1:1: error SMC010: app name "a{60}…\[3145728 characters\]" must start with a lowercase letter$/);
});

// The real messages: policies whose names, domains, addresses, ports, keys and levels are
// hostile strings, compiled; every diagnostic they give is formatted safely.
const policy = fc.record({
  app: hostile,
  domain: hostile,
  peer: hostile,
  port: hostile,
  key: hostile,
  level: hostile,
  group: hostile,
});

test('diagnostics of policies full of hostile strings are all safe to print', (t) => {
  let diagnostics = 0;
  fc.assert(
    fc.property(policy, (p) => {
      const text = stringify({
        version: 1,
        unlabeled: 'allow',
        level: p.level,
        groups: { [p.group]: [p.peer] },
        apps: { [p.app]: { domain: [p.domain], [p.key]: 1, connect: [{ to: [p.peer, p.group], ports: [p.port] }] }, ok: { domain: p.domain, serve: [{ ports: [p.port] }] } },
      });
      const result = compilePolicy(text, 'policy.yaml');
      diagnostics += result.diagnostics.length;
      return result.diagnostics.every((d) => {
        const line = formatDiagnostic(d);
        return !UNSAFE.test(line) && line.length <= BOUND;
      });
    }),
    { numRuns: 300 },
  );
  t.true(diagnostics > 300, `only ${diagnostics} diagnostics were checked`);
});

test('the CLI: a policy cannot forge an "ok" line or hide the rest of a diagnostic', (t) => {
  const policy = 'version: 1\nunlabeled: allow\napps:\n  "web\\r/etc/secmarkc/policy.yaml: ok — 1 apps\\e[8m":\n    domain: web_t\n    connect:\n      - ports: [tcp/80]\n';
  const r = runCli(['check', '-'], policy);
  t.is(r.status, 2, r.stderr);
  t.is(r.stdout, '');
  t.deepEqual(r.stderr.split('\n'), [
    '<stdin>:4:3: error SMC010: app name "web\\r/etc/secmarkc/policy.yaml: ok — 1 apps\\x1b[8m" must start with a lowercase letter and contain only a-z, 0-9 and _',
    'secmarkc: 1 error',
    '',
  ]);
});

test("the README's Diagnostics table lists exactly the codes there are", (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('### Diagnostics'), readme.indexOf('## Development'));
  const listed = [...table.matchAll(/^\| (SMC\d{3}) \|/gm)].map((m) => m[1]);
  t.deepEqual(listed, CODES);
});
