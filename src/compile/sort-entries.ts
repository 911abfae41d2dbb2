// Sorting map entries into key order fast. A comparator sort of a large policy costs ~30 times a
// native sort of 64-bit integers in a cold process (bench/RESULTS.md, "Measurements behind the code"). So each entry's leading sort fields
// and its index are packed into one 64-bit key (written as two 32-bit halves, no BigInt made),
// the keys are sorted natively, and the rare entries whose leading fields tie are finished with
// the full comparator.

const INDEX_BITS = 20;
const LIMIT = 1 << INDEX_BITS;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The leading sort fields of entry i: start rank, protocol number (< 256), first port (< 65536). */
export interface SortLead {
  readonly startRank: Int32Array;
  readonly proto: Uint8Array;
  readonly from: Uint16Array;
}

/**
 * The indices 0..n-1 in the order of `compare`, stable; `compare` must order by the lead fields
 * first (startRank, proto, from), then by anything else.
 */
export function sortedOrder(n: number, lead: SortLead, compare: (i: number, j: number) => number): Int32Array {
  const { startRank, proto, from } = lead;
  let maxRank = 0;
  for (let i = 0; i < n; i++) if (startRank[i]! > maxRank) maxRank = startRank[i]!;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n >= LIMIT || maxRank >= LIMIT) return order.sort(compare);

  // Key bits, high to low: startRank (20), proto (8), from (16), index (20).
  const keys = new BigUint64Array(n);
  const words = new Uint32Array(keys.buffer);
  const hi = LITTLE_ENDIAN ? 1 : 0;
  const lo = 1 - hi;
  for (let i = 0; i < n; i++) {
    const f = from[i]!;
    words[2 * i + hi] = (startRank[i]! << 12) | (proto[i]! << 4) | (f >>> 12);
    words[2 * i + lo] = ((f & 0xfff) << INDEX_BITS) | i;
  }
  keys.sort();
  for (let k = 0; k < n; k++) order[k] = words[2 * k + lo]! & (LIMIT - 1);
  // Runs with equal lead fields are in index order: finish them with the full comparator.
  for (let start = 0; start < n; ) {
    const a = order[start]!;
    let end = start + 1;
    while (end < n && startRank[order[end]!] === startRank[a] && proto[order[end]!] === proto[a] && from[order[end]!] === from[a]) end++;
    if (end - start > 1) order.subarray(start, end).sort(compare);
    start = end;
  }
  return order;
}
