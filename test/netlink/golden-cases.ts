// The IR equivalent of each test/fixtures/wire/<name>.nft, built by hand. The golden test
// encodes it and compares with the bytes nft(8) sent for the .nft file.

import type { Ruleset } from '../../src/compile/ir.js';
import { chain, counter, element, exactMap, map, port, proto, rule, ruleset, secmark, span, st } from './helpers/ir.js';

export interface GoldenCase {
  readonly name: string;
  readonly mode: 'replace' | 'delete';
  readonly ir: Ruleset;
  /** What the fixture shows, for its header. */
  readonly note: string;
}

const ctx = (type: string): string => `system_u:object_r:secmarkc_${type}_packet_t:s0`;

const connect4 = (data: 'counter' | 'secmark') =>
  map('connect4', 'ipv4', data, [element('192.0.2.10 . tcp . 3128', 'browser_client', 10), element('192.0.2.0/24 . udp . 1000-2000', 'browser_client', 11)], 9);

export const GOLDEN_CASES: readonly GoldenCase[] = [
  { name: 'delete', mode: 'delete', ir: ruleset(), note: 'remove: BEGIN, NEWTABLE (create if missing), DELTABLE, END' },
  { name: 'empty-table', mode: 'replace', ir: ruleset(), note: 'replace with an empty table: NEWTABLE, DELTABLE, NEWTABLE' },
  {
    name: 'chains',
    mode: 'replace',
    ir: ruleset({ chains: [chain('input', 'input', -225), chain('output', 'output', 225)] }),
    note: 'base chains with a negative and a positive priority',
  },
  { name: 'counter-object', mode: 'replace', ir: ruleset({ objects: [counter('browser_client')] }), note: 'NEWOBJ counter (bytes and packets zero)' },
  {
    name: 'secmark-object',
    mode: 'replace',
    ir: ruleset({ objects: [secmark('browser_client', ctx('browser_client'))] }),
    note: 'NEWOBJ secmark, context without NUL (this kernel then refuses it: ENOENT, no LSM)',
  },
  {
    name: 'counter-map',
    mode: 'replace',
    ir: ruleset({ objects: [counter('browser_client')], maps: [connect4('counter')] }),
    note: 'NEWSET object map (interval, concatenated key) and NEWSETELEM with a single key and a prefix/range',
  },
  {
    name: 'secmark-map-ipv6',
    mode: 'replace',
    ir: ruleset({
      objects: [secmark('ssh_server', ctx('ssh_server')), secmark('dns', ctx('dns'))],
      maps: [
        map('serve6', 'ipv6', 'secmark', [
          element('2001:db8::10 . tcp . 22', 'ssh_server', 20),
          element('2001:db8::100-2001:db8::1ff . sctp . 1000-2000', 'ssh_server', 21),
          element('2001:db8:1::/48 . udp . 53', 'dns', 22),
        ]),
      ],
    }),
    note: 'secmark object map with an IPv6 key: address, range and prefix elements',
  },
  {
    name: 'rules-counter',
    mode: 'replace',
    ir: ruleset({
      objects: [counter('browser_client')],
      maps: [connect4('counter')],
      chains: [
        chain('output', 'output', 0, [
          rule([st.ctState('established', 'related'), st.restore()]),
          rule([st.ctState('new'), st.objrefMap('counter', 'connect4', 'daddr', 'ipv4')]),
          rule([st.ctState('new'), st.save()]),
          rule([st.objref('counter', 'browser_client'), st.counter()], 'objref by name, then an anonymous counter'),
        ]),
      ],
    }),
    note: 'the counter variant of our rules: ct state, restore/save, objref through a map and by name, counter, comment',
  },
  {
    name: 'rules-secmark',
    mode: 'replace',
    ir: ruleset({
      objects: [secmark('ndp', ctx('ndp')), secmark('ssh_server', ctx('ssh_server'))],
      maps: [
        map('serve4', 'ipv4', 'secmark', [element('198.51.100.0/24 . tcp . 22', 'ssh_server')]),
        map('serve6', 'ipv6', 'secmark', [element('2001:db8:1::/48 . tcp . 22', 'ssh_server')]),
      ],
      chains: [
        chain('input', 'input', -225, [
          rule([st.ctState('established', 'related'), st.restore(), st.counter()], 'restore the connection label'),
          rule([st.ctState('new'), st.objrefMap('secmark', 'serve4', 'saddr', 'ipv4'), st.counter()], 'label new connections by serve rules'),
          rule([st.ctState('new'), st.objrefMap('secmark', 'serve6', 'saddr', 'ipv6'), st.counter()], 'label new connections by serve rules'),
          rule([st.ctState('new'), st.save(), st.counter()], 'save the label of a new connection'),
          rule([st.icmpv6Types(133, 137), st.objref('secmark', 'ndp'), st.counter()], 'label neighbour discovery'),
          rule([st.icmpv6Types(135, 135), st.objref('secmark', 'ndp')]),
        ]),
      ],
    }),
    note: 'the secmark rules: objref through IPv4 and IPv6 maps, by name, icmpv6 type range and single type',
  },
  {
    name: 'exact-and-interval',
    mode: 'replace',
    ir: ruleset({
      objects: [secmark('browser_client', ctx('browser_client')), counter('dns')],
      maps: [
        exactMap('connect4_exact', 'ipv4', 'counter', [element('192.0.2.10 . tcp . 3128', 'dns', 30), element('198.51.100.7 . udp . 53', 'dns', 31)]),
        map('connect4', 'ipv4', 'counter', [element('192.0.2.0/24 . udp . 1000-2000', 'dns', 32)]),
        exactMap('serve6_exact', 'ipv6', 'secmark', [element('2001:db8::10 . tcp . 22', 'browser_client', 33)]),
      ],
      chains: [
        chain('output', 'output', 0, [
          rule([st.ctState('new'), st.objrefMap('counter', 'connect4_exact', 'daddr', 'ipv4'), st.counter()], 'label new connections by connect rules'),
          rule([st.ctState('new'), st.objrefMap('counter', 'connect4', 'daddr', 'ipv4'), st.counter()], 'label new connections by connect rules'),
        ]),
        chain('input', 'input', 0, [rule([st.ctState('new'), st.objrefMap('secmark', 'serve6_exact', 'saddr', 'ipv6'), st.counter()])]),
      ],
    }),
    note: 'exact (hash) object maps next to an interval one: no flags interval, no NFTA_SET_DESC, elements without KEY_END',
  },
  {
    name: 'port-map',
    mode: 'replace',
    ir: ruleset({
      objects: [secmark('client_packet_t', 'system_u:object_r:client_packet_t:s0'), secmark('http_client_packet_t', 'system_u:object_r:http_client_packet_t:s0')],
      maps: [
        {
          kind: 'map',
          name: 'port_client',
          interval: true,
          key: ['inet_proto', 'inet_service'],
          data: 'secmark',
          elements: [
            { parts: [proto('tcp'), port(80)], object: 'http_client_packet_t', span: span(1) },
            { parts: [proto('tcp'), port('8008-8009')], object: 'http_client_packet_t', span: span(1) },
            { parts: [proto('sctp'), port(5000)], object: 'client_packet_t', span: span(1) },
          ],
          span: span(1),
        },
      ],
      chains: [
        chain('output', 'output', 0, [
          rule([st.ctState('new'), st.objref('secmark', 'client_packet_t'), st.counter()], 'default label of new outbound connections'),
          rule(
            [st.ctState('new'), { kind: 'objref-map', objType: 'secmark', map: 'port_client', key: ['meta l4proto', 'th dport'] }, st.counter()],
            'label new connections by the port labels of the SELinux policy',
          ),
        ]),
      ],
    }),
    note: 'ports: policy: the default label by name, then the inet_proto . inet_service port map (no address, so no nfproto dependency)',
  },
];

/** The IR equivalent of test/fixtures/wire/dump.nft, which the dump fixture was loaded from. */
export const DUMP_IR: Ruleset = ruleset({
  objects: [counter('browser_client'), counter('ndp')],
  maps: [
    connect4('counter'),
    map('connect6', 'ipv6', 'counter', [element('2001:db8::10 . tcp . 3128', 'browser_client'), element('2001:db8:1::/48 . udp . 53', 'ndp')]),
  ],
  chains: [
    chain('input', 'input', -225, [
      rule([st.ctState('established', 'related'), st.restore(), st.counter()], 'restore the connection label'),
      rule([st.icmpv6Types(133, 137), st.objref('counter', 'ndp'), st.counter()], 'label neighbour discovery'),
    ]),
    chain('output', 'output', 225, [
      rule([st.ctState('new'), st.objrefMap('counter', 'connect4', 'daddr', 'ipv4'), st.counter()]),
      rule([st.ctState('new'), st.objrefMap('counter', 'connect6', 'daddr', 'ipv6')]),
      rule([st.ctState('new'), st.save()]),
    ]),
  ],
});
