// Port labels: the seinfo parsers on real output captured in the VM guest, the gennetfilter-style
// derivation (most specific portcon wins, adjacent ports merged), and the --ports-from format.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { compilePolicy } from '../src/compile/compile.js';
import { derivePortTable, directionLabels, type PortContext, type PortTable } from '../src/port-labels/port-table.js';
import { parsePortTableJson, portTableJson } from '../src/port-labels/port-table-json.js';
import { parseAttributeMembers, parsePortcons, SeinfoParseError } from '../src/selinux/seinfo-parse.js';
import { FIXTURES, matchGolden } from './helpers/fixtures.js';

const SELINUX = join(FIXTURES, 'selinux');
const fixture = (name: string): string => readFileSync(join(SELINUX, name), 'utf8');

function realTable(): PortTable {
  return derivePortTable(
    parsePortcons(fixture('seinfo-portcon.txt')),
    parseAttributeMembers(fixture('seinfo-attribute-client_packet_type.txt')) ?? [],
    parseAttributeMembers(fixture('seinfo-attribute-server_packet_type.txt')) ?? [],
  );
}

test('seinfo --portcon: every line of the real output, ranges and single ports', (t) => {
  const portcons = parsePortcons(fixture('seinfo-portcon.txt'));
  t.is(portcons.length, 479); // "Portcon: 479" in the output
  t.deepEqual(portcons.find((p) => p.protocol === 'tcp' && p.from === 80), { protocol: 'tcp', from: 80, to: 80, portType: 'http_port_t' });
  t.deepEqual(portcons.find((p) => p.portType === 'unreserved_port_t' && p.protocol === 'sctp'), { protocol: 'sctp', from: 1024, to: 65535, portType: 'unreserved_port_t' });
});

test('seinfo --portcon: MLS ranges in the context, and lines it cannot read are errors', (t) => {
  t.deepEqual(parsePortcons('   portcon udp 53 system_u:object_r:dns_port_t:s0-s15:c0.c1023\n'), [{ protocol: 'udp', from: 53, to: 53, portType: 'dns_port_t' }]);
  t.throws(() => parsePortcons('Portcon: 1\n   portcon tcp eighty system_u:object_r:http_port_t:s0\n'), { instanceOf: SeinfoParseError, message: /line 2/ });
  t.throws(() => parsePortcons('   portcon tcp 90-80 system_u:object_r:http_port_t:s0\n'), { instanceOf: SeinfoParseError });
});

test('seinfo -a ATTR -x: members, and a missing attribute', (t) => {
  const clients = parseAttributeMembers(fixture('seinfo-attribute-client_packet_type.txt'));
  t.is(clients?.length, 228);
  t.true(clients?.includes('http_client_packet_t'));
  t.false(clients?.includes('http_server_packet_t'));
  t.is(parseAttributeMembers(fixture('seinfo-attribute-missing.txt')), undefined);
  t.throws(() => parseAttributeMembers('something else\n'), { instanceOf: SeinfoParseError });
});

test('the real policy: tcp/80 is http, high ports fall to the defaults, unlabelled port types are listed', (t) => {
  const table = realTable();
  const at = (protocol: string, port: number) => table.labels.find((l) => l.protocol === protocol && l.from <= port && port <= l.to);
  t.like(at('tcp', 80), { portType: 'http_port_t', client: 'http_client_packet_t', server: 'http_server_packet_t' });
  t.like(at('tcp', 22), { portType: 'ssh_port_t', client: 'ssh_client_packet_t' });
  t.is(at('tcp', 40000), undefined); // unreserved_port_t: no packet types
  t.deepEqual(table.skipped.map((s) => s.portType), ['hi_reserved_port_t', 'reserved_port_t', 'unreserved_port_t']);
  matchGolden(t, SELINUX, 'ports-debian12.json', JSON.stringify(portTableJson(table, 'test/fixtures/selinux (Debian 12 refpolicy, captured in the VM guest)'), null, 2) + '\n');
});

const pc = (protocol: PortContext['protocol'], from: number, to: number, portType: string): PortContext => ({ protocol, from, to, portType });

test('most specific portcon wins, whatever the order; a skipped type cuts a hole in a wider label', (t) => {
  const portcons = [pc('tcp', 8000, 8100, 'wide_port_t'), pc('tcp', 8050, 8050, 'narrow_port_t'), pc('tcp', 8060, 8060, 'plain_port_t')];
  const members = { client: ['wide_client_packet_t', 'narrow_client_packet_t'], server: ['wide_server_packet_t'] };
  for (const order of [portcons, [...portcons].reverse()]) {
    const table = derivePortTable(order, members.client, members.server);
    t.deepEqual(
      table.labels.map((l) => [l.from, l.to, l.portType, l.client ?? '-', l.server ?? '-']),
      [
        [8000, 8049, 'wide_port_t', 'wide_client_packet_t', 'wide_server_packet_t'],
        [8050, 8050, 'narrow_port_t', 'narrow_client_packet_t', '-'],
        [8051, 8059, 'wide_port_t', 'wide_client_packet_t', 'wide_server_packet_t'],
        [8061, 8100, 'wide_port_t', 'wide_client_packet_t', 'wide_server_packet_t'],
      ],
    );
    t.deepEqual(table.skipped.map((s) => s.portType), ['plain_port_t']);
    // The server direction has no label on 8050: its wide neighbours are not merged across it.
    t.deepEqual(directionLabels(table, 'server').map((l) => [l.from, l.to]), [[8000, 8049], [8051, 8059], [8061, 8100]]);
  }
});

test('adjacent ports of one packet type merge into one interval per direction; protocols stay apart', (t) => {
  const table = derivePortTable(
    [pc('tcp', 8008, 8008, 'http_port_t'), pc('tcp', 8009, 8009, 'http_port_t'), pc('udp', 8010, 8010, 'http_port_t'), pc('tcp', 8010, 8010, 'http_cache_port_t')],
    ['http_client_packet_t', 'http_cache_client_packet_t'],
    [],
  );
  t.deepEqual(directionLabels(table, 'client'), [
    { protocol: 'tcp', from: 8008, to: 8009, type: 'http_client_packet_t' },
    { protocol: 'tcp', from: 8010, to: 8010, type: 'http_cache_client_packet_t' },
    { protocol: 'udp', from: 8010, to: 8010, type: 'http_client_packet_t' },
  ]);
  t.deepEqual(directionLabels(table, 'server'), []);
});

test('property: every port gets the type of the smallest portcon containing it (the kernel lookup)', (t) => {
  const types = ['a_port_t', 'b_port_t', 'c_port_t', 'd_port_t'];
  const portcon = fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 20 }), fc.constantFrom(...types)).map(([from, len, type]) => pc('tcp', from, from + len, type));
  fc.assert(
    fc.property(fc.array(portcon, { maxLength: 12 }), (portcons) => {
      const table = derivePortTable(portcons, types.map((x) => x.replace('_port_t', '_client_packet_t')), []);
      for (let port = 0; port <= 81; port++) {
        const containing = portcons.map((p, order) => ({ p, order })).filter(({ p }) => p.from <= port && port <= p.to);
        containing.sort((a, b) => a.p.to - a.p.from - (b.p.to - b.p.from) || a.p.from - b.p.from || a.order - b.order);
        const expected = containing[0]?.p.portType;
        const got = table.labels.find((l) => l.from <= port && port <= l.to)?.portType;
        if (got !== expected) return false;
      }
      // Sorted, disjoint, and maximal: no two touching intervals share a port type.
      return table.labels.every((l, i) => i === 0 || (table.labels[i - 1]!.to < l.from && !(table.labels[i - 1]!.to + 1 === l.from && table.labels[i - 1]!.portType === l.portType)));
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('--ports-from: what ports --json writes reads back equal', (t) => {
  const table = realTable();
  t.deepEqual(parsePortTableJson(JSON.stringify(portTableJson(table, 'x')), 'ports.json'), table);
});

test('--ports-from: names that would reach nft or CIL are checked, overlaps and other shapes refused', (t) => {
  const file = (labels: unknown[]): string => JSON.stringify({ format: 'secmarkc-ports/1', source: 'x', labels, skipped: [] });
  const label = { protocol: 'tcp', from: 80, to: 80, portType: 'http_port_t', client: 'http_client_packet_t', server: null };
  t.throws(() => parsePortTableJson(file([{ ...label, client: 'x) (allow evil_t' }]), 'p.json'), { message: /^p\.json: labels\[0\]\.client: .*not a valid SELinux type name/ });
  t.throws(() => parsePortTableJson(file([label, { ...label, from: 80, to: 90 }]), 'p.json'), { message: /labels\[1\]: .*must not overlap/ });
  t.throws(() => parsePortTableJson(file([{ ...label, protocol: 'icmp' }]), 'p.json'), { message: /labels\[0\]\.protocol/ });
  t.throws(() => parsePortTableJson(file([{ ...label, client: null }]), 'p.json'), { message: /needs a client or a server/ });
  t.throws(() => parsePortTableJson('{"labels": []}', 'p.json'), { message: /format/ });
  t.throws(() => parsePortTableJson('nope', 'p.json'), { message: /not JSON/ });
});

test('ports: policy with the real table: the defaults, one object per packet type used, relabelto on exactly those', (t) => {
  const result = compilePolicy('version: 1\nunlabeled: deny\nports: policy\nloader: [unconfined_t]\nneighbour_discovery: []\napps:\n', 'p.yaml', { portTable: realTable() });
  if (!result.ok) return t.fail();
  const { ruleset, module } = result.compiled;
  const objects = ruleset.objects.map((o) => o.name);
  const inMaps = new Set(ruleset.maps.flatMap((m) => m.elements.map((e) => e.object)));
  t.deepEqual([...objects].sort(), [...new Set(['client_packet_t', 'server_packet_t', ...inMaps])].sort());
  t.is(objects.length, new Set(objects).size);
  t.deepEqual(module.types, []);
  t.deepEqual(module.allows.map((g) => `${g.source} ${g.target} ${g.permissions.join(',')}`).sort(), objects.map((o) => `unconfined_t ${o} relabelto`).sort());
  t.deepEqual(ruleset.maps.map((m) => m.name), ['port_client', 'port_server']);
});
