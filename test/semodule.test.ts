// A semodule refusal that names a line of our CIL is reported at the policy line behind it.

import test from 'ava';
import { compilePolicy } from '../src/compile/compile.js';
import { emitCil } from '../src/emit/cil.js';
import { explainFailure } from '../src/selinux/semodule.js';

const POLICY = 'version: 1\nunlabeled: allow\napps:\n  web:\n    domain: no_such_t\n    connect:\n      - ports: [tcp/443]\n';

test('a CIL resolve error at the store copy maps to the domain that does not exist', (t) => {
  const result = compilePolicy(POLICY, 'policy.yaml');
  if (!result.ok) return t.fail();
  const module = result.compiled.module;
  const line = emitCil(module).split('\n').findIndex((l) => l.startsWith('(allow no_such_t')) + 1;
  t.true(line > 0);
  // libsepol's wording, with the path semodule gives the module inside its store.
  const stderr = `Failed to resolve allow statement at /var/lib/selinux/default/tmp/modules/400/secmarkc/cil:${line}\nFailed to resolve AST\nsemodule:  Failed!\n`;
  const message = explainFailure(module, stderr);
  t.regex(message, /^semodule refused module secmarkc:\npolicy\.yaml:5:13: SELinux refused \(allow no_such_t secmarkc_web_client_packet_t \(packet \(send recv\)\)\)/);
  t.regex(message, /a type named in the policy does not exist/);
});

test('an error without a line keeps semodule\'s own words', (t) => {
  const result = compilePolicy(POLICY, 'policy.yaml');
  if (!result.ok) return t.fail();
  const message = explainFailure(result.compiled.module, 'libsemanage.semanage_direct_install_info: Cannot install\nsemodule:  Failed!\n');
  t.regex(message, /Cannot install/);
  t.notRegex(message, /policy\.yaml/);
});
