// The man pages (issue 15 item 6): man/secmarkc.8 and man/secmarkc-policy.5 are what
// scripts/man-pages.ts writes from the README and the command definitions (committed so that
// installing needs no generator: `npm run man` rewrites them), groff and man-db render them
// without a warning, secmarkc(8) documents every command and option, and the package installs
// them (package.json "man", "files").

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeProgram } from '../src/cli/command-tree.js';
import { MAN_PAGES, manPages } from '../scripts/man-pages.js';
import { ROOT } from './helpers/cli.js';

test('man/ holds exactly what the generator writes now (npm run man after changing the README or a command)', async (t) => {
  const pages = await manPages();
  for (const name of MAN_PAGES) t.is(readFileSync(join(ROOT, 'man', name), 'utf8'), pages[name], `man/${name} is stale: run npm run man`);
});

const groff = ['/usr/bin/groff'].find(existsSync);
const man = ['/usr/bin/man'].find(existsSync);
if (!groff || !man) test('man page rendering', (t) => { t.log('skipped: needs groff and man (Debian packages groff-base, man-db)'); t.pass(); });

(groff ? test : test.skip)('groff renders both pages with every warning on and prints none', (t) => {
  for (const name of MAN_PAGES) {
    const r = spawnSync(groff!, ['-man', '-t', '-Tutf8', '-ww', '-z', join(ROOT, 'man', name)], { encoding: 'utf8' });
    t.is(r.status, 0, name);
    t.is(r.stderr, '', name);
  }
});

(man ? test : test.skip)('man --warnings reads both pages as an installed page is read (tbl included), without a warning', (t) => {
  for (const name of MAN_PAGES) {
    const r = spawnSync(man!, ['--warnings', '-l', join(ROOT, 'man', name)], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' } });
    t.is(r.status, 0, name);
    t.is(r.stderr, '', name);
    t.regex(r.stdout, name.startsWith('secmarkc.') ? /^SECMARKC\(8\)/ : /^SECMARKC-POLICY\(5\)/);
  }
});

/** The page as text, no hyphenation and long lines, so that every option is one unbroken word. */
function rendered(name: string): string {
  const r = spawnSync(groff!, ['-man', '-t', '-Tascii', '-P-cbou', '-rHY=0', '-rLL=2000n', join(ROOT, 'man', name)], { encoding: 'utf8' });
  return r.stdout;
}

(groff ? test : test.skip)('secmarkc(8) documents every command with its arguments and every option, with choices and defaults', async (t) => {
  const text = rendered('secmarkc.8');
  const spec = await describeProgram();
  for (const command of spec.commands) {
    const heading = `\n   secmarkc ${command.name} ${command.usage}\n`;
    const start = text.indexOf(heading);
    t.true(start >= 0, `subsection "${heading.trim()}"`);
    // The subsection: up to the next one, or to the next section (OPTIONS).
    const end = [text.indexOf('\n   secmarkc ', start + 1), text.indexOf('\nOPTIONS\n', start)].filter((i) => i > 0);
    const body = text.slice(start, Math.min(...end));
    t.true(body.includes(command.description.split('\n')[0]!.slice(0, 40).replace(/`/g, '')), `${command.name}: description`);
    for (const a of command.arguments) t.regex(body, new RegExp(`\\n {7}${a.name}\\b`), `${command.name}: argument ${a.name}`);
    for (const o of command.options) {
      t.true(body.includes(`\n       ${[o.short, o.long].filter(Boolean).join(', ')}`), `${command.name}: option ${o.flags}`);
      if (o.value?.kind === 'choices') t.true(body.includes(`One of: ${o.value.choices.join(', ')}.`), `${command.name} ${o.long}: choices`);
      if (o.defaultValue !== undefined) t.true(body.includes(`Default: ${o.defaultValue}.`), `${command.name} ${o.long}: default`);
    }
  }
  for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'OPTIONS', 'EXIT STATUS', 'FILES', 'SEE ALSO']) t.regex(text, new RegExp(`^${section}$`, 'm'));
  t.regex(text, /^EXIT STATUS\n {7}0 ok, 1 runtime failure/m);
});

(groff ? test : test.skip)('secmarkc-policy(5) is the README\'s policy reference: every key, every diagnostic code', (t) => {
  const text = rendered('secmarkc-policy.5');
  for (const key of ['version', 'table', 'unlabeled', 'level', 'loader', 'neighbour_discovery', 'ports', 'groups', 'apps', 'domain', 'programs', 'run_from', 'connect', 'serve']) {
    t.regex(text, new RegExp(`\\| ?${key} +\\|`), key);
  }
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const code of new Set(readme.match(/^\| SMC\d{3} \|/gm)!.map((m) => m.slice(2, 8)))) t.regex(text, new RegExp(`\\| ?${code} +\\|`), code);
  t.regex(text, /^SEMANTICS$/m);
  t.regex(text, /^DIAGNOSTICS$/m);
  t.true(text.includes(readFileSync(join(ROOT, 'examples/browser-proxy.yaml'), 'utf8').split('\n')[1]!), 'the example policy');
});

test('the package installs both pages: package.json "man" and "files"', (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { man: string[]; files: string[] };
  t.deepEqual(pkg.man, MAN_PAGES.map((name) => `./man/${name}`));
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const packed = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  for (const name of MAN_PAGES) t.true(packed.includes(`man/${name}`), `man/${name} in the tarball`);
});
