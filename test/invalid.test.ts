// Invalid policies produce exactly their expected diagnostics, all at once, and never throw.

import test from 'ava';
import { compilePolicy } from '../src/compile/compile.js';
import { formatDiagnostic } from '../src/policy/diagnostics.js';
import { cases, matchGolden, readPolicy } from './helpers/fixtures.js';

for (const { name, dir } of cases('invalid')) {
  test(`invalid/${name} reports its exact diagnostics`, (t) => {
    const result = compilePolicy(readPolicy(dir), 'policy.yaml');
    t.false(result.ok, 'an invalid policy must not compile');
    t.true(result.diagnostics.some((d) => d.severity === 'error'));
    matchGolden(t, dir, 'expected.txt', result.diagnostics.map(formatDiagnostic).join('\n') + '\n');
  });
}
