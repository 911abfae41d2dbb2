// Finding the SELinux tools: PATH first (as a shell would), never npm's node_modules/.bin, the
// usual system folders last; a missing tool names its package on Debian and on Fedora.

import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool, MissingToolError } from '../src/selinux/tools.js';

function fakeTool(dir: string, name: string, mode = 0o755): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, '#!/bin/sh\nexit 0\n');
  chmodSync(path, mode);
  return path;
}

test('the first executable on PATH wins; node_modules/.bin and non-executables are passed over', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'secmarkc-tools-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const npmBin = join(root, 'node_modules', '.bin');
  fakeTool(npmBin, 'smc-fake-tool');
  fakeTool(join(root, 'noexec'), 'smc-fake-tool', 0o644);
  const wanted = fakeTool(join(root, 'bin'), 'smc-fake-tool');
  fakeTool(join(root, 'later'), 'smc-fake-tool');
  const path = [npmBin, join(root, 'noexec'), 'relative/dir', join(root, 'bin'), join(root, 'later')].join(':');
  t.is(findTool('smc-fake-tool', path), wanted);
});

test('a missing tool names its Debian and Fedora packages', (t) => {
  const error = t.throws(() => findTool('seinfo-that-is-not-there', '/nonexistent'), { instanceOf: MissingToolError });
  t.regex(error.message, /^seinfo-that-is-not-there not found on PATH/);
  const named = new MissingToolError('sesearch');
  t.regex(named.message, /apt-get install setools; Fedora: dnf install setools-console/);
});
