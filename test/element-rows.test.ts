// Map elements as record rows (src/apply/element-rows.ts): every compiled fixture's maps round-trip
// to equal elements, and malformed rows are refused with the row number.

import test from 'ava';
import { mapToRows, RowError, rowsToElements } from '../src/apply/element-rows.js';
import { compilePolicy } from '../src/compile/compile.js';
import { cases, readPolicy } from './helpers/fixtures.js';

const hex = (_key: string, value: unknown): unknown => (value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value);

test('the maps of every valid fixture round-trip through rows', (t) => {
  let maps = 0;
  for (const { name, dir } of cases('valid')) {
    const result = compilePolicy(readPolicy(dir), 'policy.yaml');
    if (!result.ok) continue;
    for (const map of result.compiled.ruleset.maps) {
      const rows = mapToRows(map);
      if (!rows) return t.fail(`${name}: map ${map.name} has elements from another file`);
      t.is(JSON.stringify(rowsToElements(rows, map.span.file), hex), JSON.stringify(map.elements, hex), `${name}: map ${map.name}`);
      maps++;
    }
  }
  t.true(maps >= 10, `only ${maps} maps in the fixtures`);
});

test('malformed rows are refused with the row number', (t) => {
  const ok = { objects: ['a_client'], keys: 'ac0000201,p6,s80 0', spans: '3:7:3:17' };
  t.is(rowsToElements(ok, 'p.yaml').length, 1);
  const bad: [Partial<typeof ok>, RegExp][] = [
    [{ keys: 'ac0000201,p6,s80 1' }, /row 1: no object/],
    [{ keys: 'ac00002,p6,s80 0' }, /row 1: "ac00002" is not a key part/],
    [{ keys: 'ac0000201-20010db8000000000000000000000001,p6 0' }, /row 1: address .* mixes families/],
    [{ keys: 'ac0000201,p6,s80 0\nac0000202,p6,s81 0' }, /2 key rows but 1 span rows/],
    [{ spans: '3:x:3:17' }, /row 1: bad span "3:x:3:17"/],
  ];
  for (const [change, message] of bad) t.throws(() => rowsToElements({ ...ok, ...change }, 'p.yaml'), { instanceOf: RowError, message });
});
