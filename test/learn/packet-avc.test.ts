// The packet AVC parser on real kernel lines from the VM (test/fixtures/avc/seed-dmesg.log) and on
// the audit.log form of the same lines, plus the other prefixes and broken lines.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePacketAvcs, type PacketAvc } from '../../src/selinux/packet-avc.js';
import { ROOT } from '../helpers/cli.js';

const fixture = (name: string) => readFileSync(join(ROOT, 'test/fixtures/avc', name), 'utf8');
const withoutLine = ({ line: _line, ...rest }: PacketAvc) => rest;

test('real dmesg lines from the seed scenario: packet AVCs only, every field', (t) => {
  const r = parsePacketAvcs(fixture('seed-dmesg.log'));
  t.deepEqual(r.malformed, []);
  t.is(r.avcs.length, 8);
  t.true(r.ignored >= 4, 'header comments, other AVC classes and the policy-load line are ignored');
  t.deepEqual(r.avcs[0], {
    line: 8,
    verdict: 'denied',
    permissions: ['send'],
    family: 'ipv4',
    saddr: '192.0.2.1',
    sport: 52792,
    daddr: '192.0.2.10',
    dport: 3128,
    netif: 'v-peer',
    domain: 'smc_b_t',
    packetType: 'secmarkc_a_client_packet_t',
    time: 1795920410.632,
    permissive: false,
  });
  const v6 = r.avcs[1]!;
  t.like(v6, { family: 'ipv6', saddr: '2001:db8::1', daddr: '2001:db8::10', sport: 45604, dport: 3128 });
  const recv = r.avcs.filter((a) => a.permissions[0] === 'recv');
  t.is(recv.length, 6);
  t.true(recv.every((a) => a.domain === 'smc_c_t' && a.sport === 3128));
});

test('the audit.log form of the same lines gives the same records', (t) => {
  const kernel = parsePacketAvcs(fixture('seed-dmesg.log')).avcs.map(withoutLine);
  const audit = parsePacketAvcs(fixture('audit.log')).avcs.map(withoutLine);
  t.deepEqual(audit.slice(0, kernel.length), kernel);
});

test('journal and /dev/kmsg prefixes, auditd enrichment after GS', (t) => {
  const body = 'avc:  granted  { recv } for  saddr=198.51.100.20 src=443 daddr=198.51.100.1 dest=40000 netif=eth0 scontext=system_u:system_r:smc_a_t:s0 tcontext=system_u:object_r:unlabeled_t:s0 tclass=packet';
  const lines = [
    `Nov 29 02:00:00 guest kernel: audit: type=1400 audit(1700000000.5:7): ${body}`,
    `6,1234,5678,-;audit: type=1400 audit(1700000001.000:8): ${body}`,
    `type=AVC msg=audit(1700000002.000:9): ${body} permissive=1\x1dSCONTEXT="system_u:system_r:smc_a_t:s0" x=y tclass=other`,
  ];
  const r = parsePacketAvcs(lines.join('\n'));
  t.deepEqual(r.malformed, []);
  t.deepEqual(r.avcs.map((a) => [a.line, a.verdict, a.time, a.domain, a.packetType, a.permissive]), [
    [1, 'granted', 1700000000.5, 'smc_a_t', 'unlabeled_t', undefined],
    [2, 'granted', 1700000001, 'smc_a_t', 'unlabeled_t', undefined],
    [3, 'granted', 1700000002, 'smc_a_t', 'unlabeled_t', true],
  ]);
});

test('ICMP packets have no ports', (t) => {
  const r = parsePacketAvcs('avc:  denied  { send } for  saddr=2001:db8::1 daddr=2001:db8::10 netif=eth0 scontext=u:r:smc_a_t:s0 tcontext=u:r:unlabeled_t:s0 tclass=packet permissive=0');
  t.is(r.avcs.length, 1);
  t.is(r.avcs[0]!.sport, undefined);
  t.is(r.avcs[0]!.dport, undefined);
});

test('broken packet lines are reported with their line numbers and reasons, not thrown', (t) => {
  const ok = 'saddr=192.0.2.1 src=40000 daddr=192.0.2.10 dest=80 scontext=u:r:smc_a_t:s0 tcontext=u:r:unlabeled_t:s0 tclass=packet';
  const lines = [
    'type=AVC msg=audit(1.0:1): avc:  denied  { name_connect } for  pid=1 scontext=u:r:smc_a_t:s0 tcontext=u:r:http_port_t:s0 tclass=tcp_socket',
    `avc:  denied  { send } for  ${ok}`,
    `avc:  denied  { relabelto } for  ${ok}`,
    `avc:  denied  { send } for  ${ok.replace('daddr=192.0.2.10 ', '')}`,
    `avc:  denied  { send } for  ${ok.replace('192.0.2.10', '192.0.2.300')}`,
    `avc:  denied  { send } for  ${ok.replace('dest=80', 'dest=70000')}`,
    `avc:  denied  { send } for  ${ok.replace('u:r:smc_a_t:s0', 'garbage')}`,
    `avc:  denied  { send } for  ${ok.replace('192.0.2.10', '2001:db8::10')}`,
    'tclass=packet and nothing else',
  ];
  const r = parsePacketAvcs(lines.join('\n'));
  t.is(r.avcs.length, 1);
  t.is(r.avcs[0]!.line, 2);
  t.is(r.ignored, 1);
  t.deepEqual(r.malformed.map((m) => [m.line, m.reason]), [
    [3, 'permissions { relabelto } are not send/recv'],
    [4, 'saddr or daddr missing'],
    [5, 'daddr "192.0.2.300" is not an address'],
    [6, 'dest "70000" is not a port'],
    [7, 'scontext "garbage" has no valid type'],
    [8, 'saddr and daddr are of different families'],
    [9, 'no "avc: denied|granted { PERM } for" part'],
  ]);
});
