// `remove` says what it did: an absent table is no error and is said to be absent; a bad
// --netns path is named with a hint. Kernel parts run in private network namespaces.

import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './helpers/cli.js';
import { inFreshNamespace, NFT, nsTest, nsTitle } from './helpers/namespace.js';

const ENTRY = fileURLToPath(new URL('./helpers/cli-entry.ts', import.meta.url));
const CLI = `${process.execPath} --import=tsx ${ENTRY}`;

nsTest(nsTitle('remove of an absent table exits 0 and says so; of a present one, removes it and says that'), (t) => {
  const run = inFreshNamespace(
    [
      'state=$(mktemp -d)',
      `${CLI} remove --no-lsm --state-dir "$state"; echo "absent rc=$?"`,
      `${CLI} apply --no-lsm --state-dir "$state" examples/browser-proxy.yaml || exit 9`,
      `${CLI} remove --no-lsm --state-dir "$state"; echo "present rc=$?"`,
      `${NFT} list tables | grep -c secmarkc; true`,
    ].join('\n'),
  );
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /absent rc=0/);
  t.regex(run.stdout, /present rc=0/);
  t.regex(run.stdout, /^table inet secmarkc does not exist: nothing to remove$/m);
  t.regex(run.stdout, /^removed table inet secmarkc$/m);
  t.regex(run.stdout, /^0$/m);
});

test('--netns with a path that is not there: exit 1, the path, the errno and what to give', (t) => {
  const state = mkdtempSync(join(tmpdir(), 'secmarkc-remove-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const r = runCli(['remove', '--no-lsm', '--state-dir', state, '--netns', '/nonexistent/netns']);
  t.is(r.status, 1);
  t.is(r.stderr, 'secmarkc: --netns /nonexistent/netns: cannot open it (ENOENT): give a network namespace such as /run/netns/NAME or /proc/PID/ns/net\n');
});
