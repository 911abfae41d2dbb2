// Map elements as record rows (src/records/element-rows.ts): every compiled fixture's maps round-trip
// to equal elements, and malformed rows are refused with the row number.

import test from 'ava';
import { createHash } from 'node:crypto';
import { checkRows, mapToRowBytes, RowError, rowsToElements, type EscapedRows, type MapRowBytes, type MapRows } from '../src/records/element-rows.js';
import { compilePolicy } from '../src/compile/compile.js';
import type { ObjectMap } from '../src/compile/ir.js';
import { cases, readPolicy } from './helpers/fixtures.js';

/** Rows as a reader gets them: the written bytes parsed as the content of a JSON string. */
const asRead = (rows: MapRowBytes): MapRows => ({ objects: rows.objects, keys: unescape(rows.keys), spans: unescape(rows.spans) });
const unescape = (rows: EscapedRows): string => JSON.parse(`"${rows.bytes.toString('latin1')}"`) as string;

const hex = (_key: string, value: unknown): unknown => (value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value);

test('the maps of every valid fixture round-trip through rows', (t) => {
  let maps = 0;
  for (const { name, dir } of cases('valid')) {
    const result = compilePolicy(readPolicy(dir), 'policy.yaml');
    if (!result.ok) continue;
    for (const map of result.compiled.ruleset.maps) {
      const rows = mapToRowBytes(map);
      if (!rows) return t.fail(`${name}: map ${map.name} has elements from another file`);
      // Rows keep everything but the peer note (src/records/element-rows.ts).
      const withoutPeer = (key: string, value: unknown): unknown => (key === 'peer' ? undefined : hex(key, value));
      t.is(JSON.stringify(rowsToElements(asRead(rows), map.span.file), hex), JSON.stringify(map.elements, withoutPeer), `${name}: map ${map.name}`);
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
    [{ spans: '3:7:3' }, /row 1: bad span "3:7:3"/],
    [{ spans: '3:7:3:17:1' }, /row 1: bad span "3:7:3:17:1"/],
    [{ keys: 'ac0000201,p6,s80 x' }, /row 1: no object/],
  ];
  for (const [change, message] of bad) t.throws(() => rowsToElements({ ...ok, ...change }, 'p.yaml'), { instanceOf: RowError, message });
  // Rows not as written that reading accepts (Number() reads `00`, `0x0`, an empty or spaced
  // field): checkRows accepts them too.
  for (const odd of [{ keys: 'ac0000201,p6,s80 00' }, { spans: '3::3:17' }, { spans: ' 3:7:3:17' }, { keys: 'ac0000201,p6,s80 0x0' }]) {
    t.is(rowsToElements({ ...ok, ...odd }, 'p.yaml').length, 1, JSON.stringify(odd));
    t.notThrows(() => checkRows({ ...ok, ...odd }, 'p.yaml'), JSON.stringify(odd));
  }
  // checkRows (an apply's check of the current record) refuses what reading refuses.
  t.notThrows(() => checkRows(ok, 'p.yaml'));
  for (const [change, message] of bad) t.throws(() => checkRows({ ...ok, ...change }, 'p.yaml'), { instanceOf: RowError, message });
});

test('written key rows: one row per element, and the text the digest hashes is that of the rows as read', (t) => {
  const result = compilePolicy(readPolicy(cases('valid').find((c) => c.name === 'several-apps')!.dir), 'policy.yaml');
  if (!result.ok) return t.fail();
  const map = result.compiled.ruleset.maps.find((m) => m.elements.length >= 2);
  if (!map) return t.fail('no map of several elements');
  // More rows than the first buffers hold (1,024): the same elements many times over.
  const big: ObjectMap = { ...map, elements: Array.from({ length: 4000 }, (_, i) => map.elements[i % map.elements.length]!) };
  for (const m of [map, big, { ...map, elements: [] }, { ...map, elements: map.elements.slice(0, 1) }]) {
    const rows = mapToRowBytes(m)!;
    const text = unescape(rows.keys);
    const rowCount = (rowsText: string): number => (rowsText === '' ? 0 : rowsText.split('\n').length);
    t.is(rowCount(text), m.elements.length);
    t.is(rowCount(unescape(rows.spans)), m.elements.length);
    // The digest hashes rows.keys.text: it must be the rows as read, byte for byte.
    t.is(rows.keys.text.length, text.length);
    t.is(createHash('sha256').update(rows.keys.text).digest('hex'), createHash('sha256').update(text).digest('hex'));
  }
});

test('row text that JSON would escape is refused, not written', (t) => {
  const result = compilePolicy(readPolicy(cases('valid').find((c) => c.name === 'port-ranges')!.dir), 'policy.yaml');
  if (!result.ok) return t.fail();
  const map = result.compiled.ruleset.maps[0]!;
  const bad: ObjectMap = { ...map, elements: [{ ...map.elements[0]!, span: { ...map.elements[0]!.span, line: Number.NaN } }] };
  t.throws(() => mapToRowBytes(bad), { message: /internal error: NaN in a map row is not a non-negative integer/ });
});
