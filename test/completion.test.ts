// `secmarkc completion bash|zsh` (issue 15 item 6): the scripts are written from the commander
// definitions, and real shells complete with them. bash: the script is sourced and its function
// called with COMP_WORDS/COMP_CWORD as readline would. zsh: an interactive zsh in a pseudo-terminal
// (zsh/zpty) gets a line and a TAB, with compadd wrapped to print what it is offered.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeProgram } from '../src/cli/command-tree.js';
import { runCli } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'secmarkc-completion-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));
const files = join(work, 'files');
mkdirSync(join(files, 'state'), { recursive: true });
writeFileSync(join(files, 'policy.yaml'), 'version: 1\n');

function script(shell: 'bash' | 'zsh'): string {
  const r = runCli(['completion', shell]);
  if (r.status !== 0) throw new Error(`completion ${shell}: exit ${r.status}: ${r.stderr}`);
  const dir = join(work, shell);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, shell === 'bash' ? 'secmarkc.bash' : '_secmarkc');
  writeFileSync(path, r.stdout);
  return path;
}

const bashScript = script('bash');

/** COMPREPLY for the words of a command line whose last word is being completed. */
function bash(...words: string[]): string[] {
  const program = 'source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _secmarkc; printf "%s\\n" "${COMPREPLY[@]}"';
  const r = spawnSync('bash', ['-c', program, bashScript, 'secmarkc', ...words], { cwd: files, encoding: 'utf8' });
  if (r.status !== 0 || r.stderr !== '') throw new Error(`bash: exit ${r.status}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '').sort();
}

test('bash: commands, a command prefix, help NAME', (t) => {
  t.deepEqual(bash(''), ['apply', 'check', 'compile', 'completion', 'explain', 'help', 'install-unit', 'learn', 'ports', 'remove', 'status']);
  t.deepEqual(bash('co'), ['compile', 'completion']);
  t.deepEqual(bash('help', 'ex'), ['explain']);
  t.deepEqual(bash('--v'), ['--version']);
});

test('bash: option prefixes, option choices (both spellings), files and folders', (t) => {
  t.deepEqual(bash('compile', '--f'), ['--format']);
  t.deepEqual(bash('compile', '--format', ''), ['all', 'cil', 'json', 'nft']);
  t.deepEqual(bash('compile', '-f', 'j'), ['json']);
  t.deepEqual(bash('compile', '--format', '=', 'c'), ['cil']); // --format=c: bash splits at "="
  t.deepEqual(bash('compile', '--format', '=', 'nft', ''), ['policy.yaml', 'state']); // the value is no argument
  t.deepEqual(bash('check', 'p'), ['policy.yaml']);
  t.deepEqual(bash('apply', '--state-dir', ''), ['state']);
  t.deepEqual(bash('explain', '--selinux-policy', 'pol'), ['policy.yaml']);
  t.deepEqual(bash('apply', '--table', ''), []); // a name: nothing to offer, and no options either
  t.deepEqual(bash('completion', ''), ['bash', 'zsh']);
});

test('bash: every option of every command, and every choice, as commander defines them', async (t) => {
  const spec = await describeProgram();
  for (const command of spec.commands) {
    const words = command.options.flatMap((o) => [o.short, o.long].filter((w) => w !== undefined));
    t.deepEqual(bash(command.name, '-'), words.filter((w) => w.startsWith('-')).sort(), command.name);
    for (const option of command.options) {
      if (option.value?.kind !== 'choices') continue;
      t.deepEqual(bash(command.name, option.long!, ''), [...option.value.choices].sort(), `${command.name} ${option.long}`);
    }
  }
});

test('completion: an unknown shell is a usage error', (t) => {
  const r = runCli(['completion', 'fish']);
  t.is(r.status, 2);
  t.regex(r.stderr, /'fish' is invalid.*Allowed choices are bash, zsh/);
});

const zsh = ['/usr/bin/zsh', '/bin/zsh'].find(existsSync);
const zshTest = zsh ? test : test.skip;
if (!zsh) test('zsh completion', (t) => { t.log('skipped: zsh is not installed (Debian package zsh)'); t.pass(); });

const ZSH_SETUP = (dir: string) => `PROMPT=''
RPROMPT=''
fpath=(${dir} $fpath)
autoload -U compinit; compinit -u -D
bindkey '^I' complete-word
null-line() { echo -E - $'\\0' }
compprefuncs=( null-line )
comppostfuncs=( null-line exit )
zstyle ':completion:*' insert-tab false
compadd() {
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits
  builtin compadd -A __hits "$@"
  (( $#__hits )) && print -rl -- "\${__hits[@]}"
  builtin compadd "$@"
}
`;
const ZSH_DRIVER = `zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "source $1"
zpty -w z "$2"$'\\t'
integer n=0
while zpty -r z line; do
  if [[ $line == *$'\\0'* ]]; then (( ++n == 2 )) && break; continue; fi
  (( n == 1 )) && print -r -- "\${line%$'\\r'}"
done
zpty -d z
`;

zshTest('zsh: the script parses, and an interactive zsh completes commands, options, choices and files with it', (t) => {
  const path = script('zsh');
  t.is(spawnSync(zsh!, ['-n', path]).status, 0);
  const dir = join(work, 'zsh');
  writeFileSync(join(dir, 'setup.zsh'), ZSH_SETUP(dir));
  writeFileSync(join(dir, 'drive.zsh'), ZSH_DRIVER);
  const complete = (line: string): string[] => {
    // The timeout only ends a shell that would otherwise wait forever; no assertion is about time.
    const r = spawnSync(zsh!, ['-f', join(dir, 'drive.zsh'), join(dir, 'setup.zsh'), line], { cwd: files, encoding: 'utf8', timeout: 60_000 });
    t.is(r.stderr, '', line);
    return [...new Set(r.stdout.split(/\s+/).filter((w) => w !== ''))].sort();
  };
  t.deepEqual(complete('secmarkc co'), ['compile', 'completion']);
  t.deepEqual(complete('secmarkc compile --f'), ['--format']);
  t.deepEqual(complete('secmarkc compile --format '), ['all', 'cil', 'json', 'nft']);
  t.deepEqual(complete('secmarkc compile -f nft p'), ['policy.yaml']);
  t.deepEqual(complete('secmarkc apply --state-dir s'), ['state']);
  t.deepEqual(complete('secmarkc explain --u'), ['--users-of']);
});
