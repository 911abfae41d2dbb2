// ElementWriter (src/netlink/map-layout.ts) is the batch's fast path for map elements: templates
// copied and key bytes poked in place. Its executable spec is the plain encoder of
// src/netlink/nft/set-elem.ts (one attribute after another, as libnftnl writes them): for any
// map and elements the two must write the same bytes.

import test from 'ava';
import fc from 'fast-check';
import type { KeyField, KeyPart, MapElement, ObjectMap } from '../../src/compile/ir.js';
import { ElementWriter } from '../../src/netlink/map-layout.js';
import { encodeSetElem } from '../../src/netlink/nft/set-elem.js';
import { NetlinkWriter } from '../../src/netlink/wire/writer.js';

const SPAN = { file: 'p.yaml', line: 1, col: 1, endLine: 1, endCol: 2 };
const LENS: Record<KeyField, number> = { ipv4_addr: 4, ipv6_addr: 16, inet_proto: 1, inet_service: 2 };

/** The key as the kernel reads it: each field's value, padded with zeros to 4 bytes. */
function keyBytes(key: readonly KeyField[], parts: readonly KeyPart[], end: boolean): Uint8Array {
  const out: number[] = [];
  key.forEach((field, i) => {
    const part = parts[i]!;
    const value =
      part.kind === 'addr' ? Array.from(end ? part.end : part.start) : part.kind === 'proto' ? [part.value] : [(end ? part.to : part.from) >> 8, (end ? part.to : part.from) & 0xff];
    out.push(...value, ...new Array((4 - (LENS[field] % 4)) % 4).fill(0));
  });
  return Uint8Array.from(out);
}

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const object = fc.stringMatching(/^[a-z][a-z0-9_]{0,30}$/);

function partArb(field: KeyField, interval: boolean): fc.Arbitrary<KeyPart> {
  switch (field) {
    case 'ipv4_addr':
    case 'ipv6_addr': {
      const family = field === 'ipv4_addr' ? 'ipv4' : 'ipv6';
      const single = bytes(LENS[field]).map((a): KeyPart => ({ kind: 'addr', family, start: a, end: a }));
      return interval ? fc.oneof(single, fc.tuple(bytes(LENS[field]), bytes(LENS[field])).map(([start, end]): KeyPart => ({ kind: 'addr', family, start, end }))) : single;
    }
    case 'inet_proto':
      return fc.integer({ min: 0, max: 255 }).map((value): KeyPart => ({ kind: 'proto', value }));
    case 'inet_service': {
      const port = fc.integer({ min: 0, max: 65535 });
      return interval ? fc.tuple(port, port).map(([from, to]): KeyPart => ({ kind: 'port', from, to })) : port.map((p): KeyPart => ({ kind: 'port', from: p, to: p }));
    }
  }
}

const mapArb = fc
  .record({
    key: fc.constantFrom<KeyField[]>(['ipv4_addr', 'inet_proto', 'inet_service'], ['ipv6_addr', 'inet_proto', 'inet_service'], ['inet_proto', 'inet_service']),
    interval: fc.boolean(),
  })
  .chain(({ key, interval }) =>
    fc
      .array(fc.record({ parts: fc.tuple(...key.map((f) => partArb(f, interval))), object }), { minLength: 1, maxLength: 20 })
      .map((elements): ObjectMap => ({
        kind: 'map',
        name: 'm',
        interval,
        key,
        data: 'secmark',
        elements: elements.map((e): MapElement => ({ ...e, span: SPAN })),
        span: SPAN,
      })),
  );

test('ElementWriter writes the bytes of the plain set-elem encoder, for any map and elements', (t) => {
  fc.assert(
    fc.property(mapArb, (map) => {
      const fast = new NetlinkWriter(256);
      const plain = new NetlinkWriter(256);
      const writer = new ElementWriter(map);
      map.elements.forEach((element, i) => {
        writer.write(fast, i + 1, element);
        encodeSetElem(plain, i + 1, {
          key: keyBytes(map.key, element.parts, false),
          ...(map.interval ? { keyEnd: keyBytes(map.key, element.parts, true) } : {}),
          objref: element.object,
        });
      });
      return Buffer.from(fast.bytes()).equals(Buffer.from(plain.bytes()));
    }),
    { numRuns: 300 },
  );
  t.pass();
});
