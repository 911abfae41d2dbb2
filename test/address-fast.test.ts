// The policy's own readers of common address spellings (src/policy/address.ts) against ipaddr.js,
// which decides everything else: same accept or refuse, same family, same value; and its
// conversion of an address to bytes against the plain byte loop.

import test from 'ava';
import fc from 'fast-check';
import { bigintToBytes, parseSingle, parseSingleByIpaddr } from '../src/policy/address.js';

const same = (text: string): boolean => {
  const fast = parseSingle(text);
  const reference = parseSingleByIpaddr(text);
  return fast === undefined ? reference === undefined : reference !== undefined && fast.family === reference.family && fast.value === reference.value;
};

test('spellings at the edges read as ipaddr.js reads them', (t) => {
  const cases = [
    '0.0.0.0', '255.255.255.255', '192.0.2.1', '192.0.2.256', '192.0.2.01', '192.0.2', '192.0.2.1.', '.192.0.2.1', '1.2.3.4.5', '1..2.3', '0x1.2.3.4', '1000.0.0.1',
    '::', '::1', '1::', '2001:db8::', '2001:db8::/32', '2001:DB8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::', '::1:2:3:4:5:6:7', '1::2:3:4:5:6:7:8', '1:2:3:4::5:6:7:8', ':::', '1:::2', '1::2::3', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', '00000::1', '12345::',
    'g::1', '::ffff:192.0.2.1', '::192.0.2.1', '64:ff9b::192.0.2.1', 'fe80::1%eth0', '', ':', '::%1', ' ::1', '::1 ',
  ];
  for (const text of cases) t.true(same(text), text);
});

test('random strings over the address alphabet read as ipaddr.js reads them', (t) => {
  const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF:.:::'.split(''), 'x', '%');
  fc.assert(fc.property(fc.array(alphabet, { maxLength: 42 }).map((chars) => chars.join('')), same), { numRuns: 20_000 });
  t.pass();
});

test('well-formed and nearly well-formed addresses read as ipaddr.js reads them', (t) => {
  const group = fc.stringMatching(/^[0-9a-fA-F]{0,5}$/);
  const ipv6 = fc.tuple(fc.array(group, { maxLength: 9 }), fc.nat(9), fc.boolean()).map(([groups, at, gap]) => {
    if (!gap) return groups.join(':');
    return `${groups.slice(0, at).join(':')}::${groups.slice(at).join(':')}`;
  });
  const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.stringMatching(/^[0-9]{0,4}$/));
  const ipv4 = fc.array(octet, { minLength: 3, maxLength: 5 }).map((parts) => parts.join('.'));
  fc.assert(fc.property(fc.oneof(ipv6, ipv4), same), { numRuns: 20_000 });
  t.pass();
});

test('bigintToBytes writes what a byte-by-byte conversion writes, in range and out of it', (t) => {
  const reference = (length: number, value: bigint): Uint8Array => {
    const out = new Uint8Array(length);
    let v = value;
    for (let i = length - 1; i >= 0; i--) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    return out;
  };
  const check = (family: 'ipv4' | 'ipv6', value: bigint): boolean => Buffer.from(bigintToBytes(family, value)).equals(Buffer.from(reference(family === 'ipv4' ? 4 : 16, value)));
  for (const value of [0n, 1n, 0xffn, 0x100n, (1n << 32n) - 1n, 1n << 32n, -1n, (1n << 128n) - 1n, 1n << 128n, 0x20010db8n << 96n]) {
    t.true(check('ipv4', value), `ipv4 ${value}`);
    t.true(check('ipv6', value), `ipv6 ${value}`);
  }
  fc.assert(fc.property(fc.bigInt({ min: -(1n << 130n), max: 1n << 130n }), fc.constantFrom('ipv4' as const, 'ipv6' as const), (value, family) => check(family, value)), { numRuns: 5000 });
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (value) => check('ipv6', value) && check('ipv4', value & 0xffffffffn)), { numRuns: 5000 });
});
