// A semodule refusal that names a line of our CIL is reported at the policy line behind it, in
// the editor's form with SMC110: from libsepol's words as semodule prints them, and from a real
// semodule refusing our module in a private copy of Debian's policy store.

import test from 'ava';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiled } from './helpers/fixtures.js';
import { emitCil } from '../src/emit/cil.js';
import { formatDiagnosticLines } from '../src/policy/diagnostics.js';
import { explainFailure } from '../src/selinux/semodule.js';
import { policyRoot, refpolicyMissing, refpolicyTest, refpolicyTitle, semoduleInstall } from './helpers/refpolicy.js';

const POLICY = 'version: 1\nunlabeled: allow\napps:\n  web:\n    domain: no_such_t\n    connect:\n      - ports: [tcp/443]\n';

const EXPECTED = [
  'policy.yaml:5:13: error SMC110: SELinux refused (allow no_such_t secmarkc_web_client_packet_t (packet (send recv))): Failed to resolve allow statement',
  'policy.yaml:5:13: note: a type it names is not in the loaded SELinux policy (seinfo -t NAME lists one that is)',
];

const moduleOf = () => compiled(POLICY, 'policy.yaml').module;

test('a CIL resolve error at the store copy maps to the domain that does not exist', (t) => {
  const module = moduleOf();
  const line = emitCil(module).split('\n').findIndex((l) => l.startsWith('(allow no_such_t')) + 1;
  t.true(line > 0);
  // libsepol's wording, with the path semodule gives the module inside its store.
  const stderr = `Failed to resolve allow statement at /var/lib/selinux/default/tmp/modules/400/secmarkc/cil:${line}\nFailed to resolve AST\nsemodule:  Failed!\n`;
  const error = explainFailure(module, stderr);
  t.is(error.code, 'SMC110');
  t.deepEqual(error.diagnostics.flatMap(formatDiagnosticLines), EXPECTED);
  t.is(error.message, 'semodule refused module secmarkc: Failed to resolve AST | semodule:  Failed!');
});

test("an error without a line keeps semodule's own words", (t) => {
  const error = explainFailure(moduleOf(), 'libsemanage.semanage_direct_install_info: Cannot install\nsemodule:  Failed!\n');
  t.deepEqual(error.diagnostics, []);
  t.is(error.message, 'semodule refused module secmarkc: libsemanage.semanage_direct_install_info: Cannot install | semodule:  Failed!');
});

refpolicyTest(refpolicyTitle("a real semodule refusing the module (a private copy of Debian's store) is reported at the policy line"), async (t) => {
  if (refpolicyMissing(t)) return;
  const root = policyRoot('secmarkc-semodule-');
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const module = moduleOf();
  const file = join(root, 'secmarkc.cil');
  writeFileSync(file, emitCil(module));
  const r = await semoduleInstall(root, [file]);
  t.not(r.status, 0, 'semodule refuses a module that names a type refpolicy does not have');
  t.deepEqual(explainFailure(module, r.output).diagnostics.flatMap(formatDiagnosticLines), EXPECTED, r.output);
});
