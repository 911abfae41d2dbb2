// Commands that need no kernel never load the native addon (src/native.ts loads it on first
// use): seen from outside, with strace, as the files the installed entry point opens. Whether a
// command succeeds here does not matter (explain and ports need a loaded SELinux policy); only
// that no .node file is opened. `status` in a private namespace is the control: it must.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';

const STRACE = ['/usr/bin/strace', '/bin/strace'].find((p) => existsSync(p));
const built = existsSync(join(ROOT, 'dist/bundle/secmarkc.cjs'));
const skip = !STRACE ? 'needs strace' : !built ? 'dist/bundle not built; run npm run build:ts' : process.getuid?.() !== 0 ? 'needs root (the control runs in a private network namespace)' : undefined;
// One traced CLI at a time: each is a whole node start under strace.
const straceTest = skip ? test.skip : test.serial;
const skipped = skip ? ` [skipped: ${skip}]` : '';
const EXAMPLE = join(ROOT, 'examples/browser-proxy.yaml');

/** The paths of .node files that `secmarkc ARGS` opened (any thread or child), and its result. */
function nodeFilesOpened(args: readonly string[], prefix: readonly string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-strace-'));
  try {
    const log = join(dir, 'trace');
    const r = spawnSync(
      prefix[0] ?? STRACE!,
      [...prefix.slice(1), ...(prefix.length ? [STRACE!] : []), '-f', '-qq', '-e', 'trace=open,openat,openat2', '-o', log, process.execPath, join(ROOT, 'bin/secmarkc.js'), ...args],
      { cwd: ROOT, encoding: 'utf8', input: '' },
    );
    const opened = [...readFileSync(log, 'utf8').matchAll(/open(?:at2?)?\((?:[^,]*, )?"([^"]*\.node)"/g)].map((m) => m[1]);
    return { opened, r };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const COMMANDS: readonly (readonly string[])[] = [
  ['--help'],
  ['--version'],
  ['check', EXAMPLE],
  ['compile', EXAMPLE],
  ['learn', '--audit-log', '-'],
  ['explain', 'unconfined_t'],
  ['ports'],
  ['apply', '--dry-run', '--no-module', EXAMPLE],
];

for (const args of COMMANDS) {
  straceTest(`secmarkc ${args.map((a) => (a === EXAMPLE ? 'examples/browser-proxy.yaml' : a)).join(' ')} opens no .node file${skipped}`, (t) => {
    const { opened, r } = nodeFilesOpened(args);
    t.not(r.status, null, r.stderr);
    t.deepEqual(opened, []);
  });
}

straceTest(`the control: secmarkc status (talks to the kernel) opens the addon${skipped}`, (t) => {
  const { opened, r } = nodeFilesOpened(['status'], ['unshare', '-n']);
  t.not(r.status, null, r.stderr);
  t.is(opened.length, 1, opened.join(' '));
  t.regex(opened[0]!, /\/(prebuilds\/linux-[a-z0-9]+\/secmarkc\.glibc|build\/Release\/secmarkc_native)\.node$/);
});
