// sortedOrder (packed 64-bit keys, native sort) must order exactly as a stable sort by the full
// comparator, ties included, and fall back to that sort where the keys do not fit.

import test from 'ava';
import fc from 'fast-check';
import { sortedOrder } from '../src/compile/sort-entries.js';

// Small value ranges so that ties on the lead fields (start rank, protocol, first port) are common.
const entry = fc.record({
  startRank: fc.integer({ min: 0, max: 5 }),
  intervalRank: fc.integer({ min: 0, max: 5 }),
  proto: fc.constantFrom(1, 6, 17, 58, 132, 255),
  from: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 4090, max: 4100 }), fc.constant(65535)),
  width: fc.integer({ min: 0, max: 3 }),
});
type Raw = { startRank: number; intervalRank: number; proto: number; from: number; width: number };

function check(raw: Raw[], rankOffset: number): boolean {
  const n = raw.length;
  const startRank = Int32Array.from(raw, (r) => r.startRank + rankOffset);
  const intervalRank = Int32Array.from(raw, (r) => r.intervalRank);
  const proto = Uint8Array.from(raw, (r) => r.proto);
  const from = Uint16Array.from(raw, (r) => r.from);
  const to = Uint16Array.from(raw, (r) => Math.min(65535, r.from + r.width));
  const compare = (i: number, j: number): number =>
    startRank[i]! - startRank[j]! || proto[i]! - proto[j]! || from[i]! - from[j]! || intervalRank[i]! - intervalRank[j]! || to[j]! - to[i]!;
  const expected = Array.from({ length: n }, (_, i) => i).sort(compare);
  const actual = Array.from(sortedOrder(n, { startRank, proto, from }, compare));
  return actual.length === n && actual.every((v, k) => v === expected[k]);
}

test('the packed sort orders exactly as a stable comparator sort', (t) => {
  fc.assert(fc.property(fc.array(entry, { maxLength: 300 }), (raw) => check(raw, 0)), { numRuns: 300 });
  t.pass();
});

test('start ranks beyond the packed key fall back to the comparator sort, same order', (t) => {
  fc.assert(fc.property(fc.array(entry, { minLength: 1, maxLength: 50 }), (raw) => check(raw, 1 << 20)), { numRuns: 50 });
  t.pass();
});
