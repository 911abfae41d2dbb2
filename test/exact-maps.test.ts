// The split of each direction × family into an exact (hash) map and an interval map: which
// entries go where, the lookup rules, and that overlaps are still found across the two.

import test from 'ava';
import { compilePolicy } from '../src/compile/compile.js';
import type { ObjectMap, Ruleset } from '../src/compile/ir.js';
import { elementText } from '../src/emit/nft-text.js';
import { compiled } from './helpers/fixtures.js';

const POLICY = `version: 1
unlabeled: allow
apps:
  web:
    domain: web_t
    connect:
      - to: [192.0.2.10, 192.0.2.11-192.0.2.11, "2001:db8::1"]
        ports: [tcp/443, udp/53]
      - to: [192.0.2.20]
        ports: [tcp/8000-8010, icmp]
      - to: [198.51.100.0/24]
        ports: [tcp/80]
      - ports: [udp/123]
`;

const compile = (text: string): Ruleset => compiled(text, 'policy.yaml').ruleset;

const elements = (map: ObjectMap | undefined): string[] => (map ? map.elements.map(elementText) : []);

test('single address and single port go to the exact map; prefixes, ranges, any and ICMP to the interval map', (t) => {
  const ruleset = compile(POLICY);
  const byName = new Map(ruleset.maps.map((m) => [m.name, m]));
  t.deepEqual(
    ruleset.maps.map((m) => [m.name, m.interval]),
    [
      ['connect4_exact', false],
      ['connect4', true],
      ['connect6_exact', false],
      ['connect6', true],
    ],
  );
  t.deepEqual(elements(byName.get('connect4_exact')), [
    '192.0.2.10 . tcp . 443 : "web_client"',
    '192.0.2.10 . udp . 53 : "web_client"',
    '192.0.2.11 . tcp . 443 : "web_client"',
    '192.0.2.11 . udp . 53 : "web_client"',
  ]);
  t.deepEqual(elements(byName.get('connect4')), [
    '0.0.0.0/0 . udp . 123 : "web_client"',
    '192.0.2.20 . icmp . 0-65535 : "web_client"',
    '192.0.2.20 . tcp . 8000-8010 : "web_client"',
    '198.51.100.0/24 . tcp . 80 : "web_client"',
  ]);
  t.deepEqual(elements(byName.get('connect6_exact')), ['2001:db8::1 . tcp . 443 : "web_client"', '2001:db8::1 . udp . 53 : "web_client"']);
  t.deepEqual(elements(byName.get('connect6')), ['::/0 . udp . 123 : "web_client"']);
});

test('each non-empty map has its own lookup rule, the exact one first; empty maps have none', (t) => {
  const ruleset = compile(POLICY);
  const lookups = (hook: string): string[] =>
    ruleset.chains.find((c) => c.hook === hook)!.rules.flatMap((r) => r.statements.flatMap((s) => (s.kind === 'objref-map' ? [s.map] : [])));
  t.deepEqual(lookups('output'), ['connect4_exact', 'connect4', 'connect6_exact', 'connect6']);
  t.deepEqual(lookups('input'), []);

  const onlyExact = compile(`version: 1\nunlabeled: allow\napps:\n  ssh:\n    domain: sshd_t\n    serve:\n      - from: [198.51.100.7]\n        ports: [tcp/22]\n`);
  t.deepEqual(
    onlyExact.maps.map((m) => m.name),
    ['serve4_exact'],
  );
  t.deepEqual(
    onlyExact.chains.find((c) => c.hook === 'input')!.rules.flatMap((r) => r.statements.flatMap((s) => (s.kind === 'objref-map' ? [s.map] : []))),
    ['serve4_exact'],
  );
});

test('an exact entry overlapping another app\'s interval entry is still SMC041', (t) => {
  const text = `version: 1
unlabeled: allow
apps:
  a:
    domain: a_t
    connect:
      - to: [192.0.2.0/24]
        ports: [tcp/443]
  b:
    domain: b_t
    connect:
      - to: [192.0.2.10]
        ports: [tcp/443]
`;
  const result = compilePolicy(text, 'policy.yaml');
  t.false(result.ok);
  t.deepEqual(
    result.diagnostics.map((d) => d.code),
    ['SMC041'],
  );
});

test('an exact entry inside an interval entry of the same app is dropped, not put in the exact map', (t) => {
  const ruleset = compile(`version: 1
unlabeled: allow
apps:
  a:
    domain: a_t
    connect:
      - to: [192.0.2.0/24]
        ports: [tcp/400-500]
      - to: [192.0.2.10]
        ports: [tcp/443]
`);
  t.deepEqual(
    ruleset.maps.map((m) => [m.name, elements(m)]),
    [['connect4', ['192.0.2.0/24 . tcp . 400-500 : "a_client"']]],
  );
});
