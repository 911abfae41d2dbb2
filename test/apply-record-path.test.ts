// A record names the policy by its absolute path, whatever the working directory of the apply:
// rollback, keep and status read it from elsewhere (issue 18: records kept relative paths).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRecord } from '../src/records/state.js';
import { ROOT } from './helpers/cli.js';
import { inFreshNamespace, nsTest, nsTitle } from './helpers/namespace.js';

const ENTRY = fileURLToPath(new URL('./helpers/cli-entry.ts', import.meta.url));

nsTest(nsTitle('apply of a relative policy path records the absolute path'), (t) => {
  const state = mkdtempSync(join(tmpdir(), 'secmarkc-record-path-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const run = inFreshNamespace(`cd '${join(ROOT, 'examples')}' && ${process.execPath} --import=tsx ${ENTRY} apply --no-lsm --state-dir '${state}' browser-proxy.yaml`);
  t.is(run.status, 0, run.stderr);
  t.is(readRecord(state, 'secmarkc', 'current')?.source.path, join(ROOT, 'examples', 'browser-proxy.yaml'));
});
