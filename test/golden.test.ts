// Valid policies compile to exactly the reviewed nft text, nft JSON and CIL.

import test from 'ava';
import { compilePolicy } from '../src/compile/compile.js';
import { emitCil } from '../src/emit/cil.js';
import { emitNftJson } from '../src/emit/nft-json.js';
import { emitNftText } from '../src/emit/nft-text.js';
import { formatDiagnostic } from '../src/policy/diagnostics.js';
import { cases, matchGolden, readPolicy, readPortTable } from './helpers/fixtures.js';

for (const { name, dir } of cases('valid')) {
  test(`valid/${name} compiles to its golden nft, JSON and CIL`, (t) => {
    const result = compilePolicy(readPolicy(dir), 'policy.yaml', readPortTable(dir));
    if (!result.ok) return t.fail(result.diagnostics.map(formatDiagnostic).join('\n'));
    t.deepEqual(result.diagnostics.map(formatDiagnostic), []);
    matchGolden(t, dir, 'expected.nft', emitNftText(result.compiled.ruleset));
    matchGolden(t, dir, 'expected.json', emitNftJson(result.compiled.ruleset));
    matchGolden(t, dir, 'expected.cil', emitCil(result.compiled.module));
  });
}
