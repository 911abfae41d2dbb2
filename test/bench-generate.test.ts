// bench/generate.ts: both shapes make exactly N map elements (no entry merged, dropped or
// refused as an overlap), the exact shape in exact maps only, the interval shape in interval maps
// only, with documentation prefixes and port ranges.
import test from 'ava';
import { compilePolicy } from '../src/compile/compile.js';
import { generateIntervalPolicy, SHAPES } from '../bench/generate.js';

function mapsOf(text: string) {
  const compiled = compilePolicy(text, 'bench.yaml');
  if (!compiled.ok) throw new Error(`does not compile: ${JSON.stringify(compiled).slice(0, 400)}`);
  return compiled.compiled.ruleset.maps;
}

for (const size of [1, 10, 99, 100, 155, 1000, 10_000, 100_000]) {
  for (const shape of ['exact', 'interval'] as const) {
    test(`${shape}, ${size.toLocaleString('en')} entries: exactly that many map elements`, (t) => {
      const maps = mapsOf(SHAPES[shape](size));
      t.is(maps.reduce((n, m) => n + m.elements.length, 0), size);
      const names = maps.filter((m) => m.elements.length).map((m) => m.name);
      t.true(names.every((name) => (shape === 'exact' ? name.endsWith('_exact') : !name.endsWith('_exact'))), names.join(' '));
    });
  }
}

test('the interval shape uses documentation prefixes of both families and port ranges', (t) => {
  const text = generateIntervalPolicy(1000);
  const addresses = [...text.matchAll(/to: \[([^\]]*)\]/g)].flatMap((m) => m[1]!.split(', ').map((a) => a.replaceAll('"', '')));
  t.true(addresses.length > 0);
  t.true(addresses.every((a) => /^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d+\/29$/.test(a) || /^2001:db8:[0-9a-f]+::\/48$/.test(a)), addresses.join(' '));
  t.true(addresses.some((a) => a.includes(':')) && addresses.some((a) => !a.includes(':')));
  t.regex(text, /tcp\/1-9, tcp\/11-19/);
  const maps = mapsOf(text);
  t.deepEqual(maps.filter((m) => m.elements.length).map((m) => m.name).sort(), ['connect4', 'connect6']);
});
