// The suggester: direction heuristics, dedup and counts, merging with a policy, and the property
// that its snippet is a valid policy that allows everything it was built from.

import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compilePolicy } from '../../src/compile/compile.js';
import { emitSnippet } from '../../src/learn/emit-snippet.js';
import { appNameFor, classify, suggestPolicy } from '../../src/learn/suggest.js';
import type { Policy } from '../../src/policy/types.js';
import { parsePacketAvcs, type PacketAvc } from '../../src/selinux/packet-avc.js';
import { ROOT } from '../helpers/cli.js';

const seed = parsePacketAvcs(readFileSync(join(ROOT, 'test/fixtures/avc/seed-dmesg.log'), 'utf8')).avcs;

function policy(text: string): Policy {
  const r = compilePolicy(text, 'p.yaml');
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.policy;
}

/** The skeleton of the VM scenarios: app a (smc_a_t) connects to the proxy. */
const SKELETON = policy(`version: 1
unlabeled: deny
apps:
  a:
    domain: smc_a_t
    connect:
      - to: [192.0.2.10, "2001:db8::10"]
        ports: [tcp/3128]
  smc_c:
    domain: smc_other_t
    serve:
      - ports: [tcp/9090]
`);

const avc = (over: Partial<PacketAvc>): PacketAvc => ({
  line: 1, verdict: 'denied', permissions: ['send'], family: 'ipv4', saddr: '192.0.2.1', daddr: '192.0.2.10',
  sport: 40000, dport: 80, domain: 'smc_a_t', packetType: 'unlabeled_t', ...over,
});

test('directions: the real seed lines and each heuristic', (t) => {
  t.like(classify(seed[0]!, 'send'), { direction: 'connect', peer: '192.0.2.10', port: 3128, protocol: 'tcp', heuristic: 'outbound' });
  t.like(classify(seed[2]!, 'recv'), { direction: 'connect', peer: '192.0.2.10', port: 3128, heuristic: 'reply-to-outbound' });
  t.like(classify(avc({ permissions: ['recv'], saddr: '198.51.100.20', sport: 40000, daddr: '198.51.100.1', dport: 8080 }), 'recv'),
    { direction: 'serve', peer: '198.51.100.20', port: 8080, heuristic: 'inbound' });
  t.like(classify(avc({ sport: 8080, daddr: '198.51.100.20', dport: 40000 }), 'send'),
    { direction: 'serve', peer: '198.51.100.20', port: 8080, heuristic: 'reply-from-server' });
  t.like(classify(avc({ sport: undefined, dport: undefined, family: 'ipv6', saddr: '2001:db8::1', daddr: '2001:db8::10' }), 'send'),
    { direction: 'connect', peer: '2001:db8::10', protocol: 'icmpv6', port: undefined, heuristic: 'no-ports' });
  // Both ports outside the ephemeral range: the packet is taken as the first of its connection.
  t.like(classify(avc({ permissions: ['recv'], sport: 53, dport: 5353 }), 'recv'), { direction: 'serve', port: 5353, heuristic: 'inbound' });
  t.like(classify(avc({ sport: 1000, dport: 2000 }), 'send', { protocol: 'udp', ephemeral: { from: 1000, to: 1999 } }),
    { direction: 'connect', port: 2000, protocol: 'udp' });
});

test('without a policy: deduplicated, counted, one domain per connection label', (t) => {
  const s = suggestPolicy(seed);
  t.is(s.avcCount, 8);
  t.is(s.denied, 8);
  t.is(s.first, 1795920410.632);
  t.is(s.last, 1795920413.828);
  t.deepEqual(s.apps.map((a) => [a.name, a.domain, a.existing, a.connect.map((o) => `${o.peer} ${o.protocol}/${o.port} ${o.count}`), a.serve.length]), [
    ['smc_c', 'smc_c_t', false, ['192.0.2.10 tcp/3128 3', '2001:db8::10 tcp/3128 3'], 0],
  ]);
  // smc_b_t wanted the same peers and port, seen once each: reported, not a second app (SMC041).
  t.deepEqual(s.skipped.map((k) => [k.observation.domain, k.observation.peer, k.reason]), [
    ['smc_b_t', '192.0.2.10', { kind: 'conflict', domain: 'smc_c_t' }],
    ['smc_b_t', '2001:db8::10', { kind: 'conflict', domain: 'smc_c_t' }],
  ]);
  const entry = s.apps[0]!.connect[0]!;
  t.deepEqual([entry.lines, entry.permissions, entry.heuristics, entry.packetTypes], [[10, 12, 13], ['recv'], ['reply-to-outbound'], ['secmarkc_a_client_packet_t']]);
});

test('with a policy: what another app labels is skipped as claimed, allowed entries skipped, names reused', (t) => {
  const s = suggestPolicy(seed, SKELETON);
  t.deepEqual(s.apps, []);
  t.deepEqual([...new Set(s.skipped.map((k) => `${k.observation.domain} ${k.reason.kind} ${'app' in k.reason ? k.reason.app : ''}`))], ['smc_b_t claimed a', 'smc_c_t claimed a']);

  const more = suggestPolicy([
    avc({ dport: 3128 }), // already allowed for smc_a_t
    avc({ dport: 443, verdict: 'granted', time: 5 }), avc({ dport: 443, verdict: 'granted', time: 9, line: 2 }),
    avc({ domain: 'smc_c_t', dport: 25 }), // app name smc_c is taken by another domain
  ], SKELETON);
  t.deepEqual(more.apps.map((a) => [a.name, a.domain, a.existing, a.connect.map((o) => [o.port, o.count, o.granted, o.first, o.last])]), [
    ['a', 'smc_a_t', true, [[443, 2, 2, 5, 9]]],
    ['smc_c_2', 'smc_c_t', false, [[25, 1, 0, undefined, undefined]]],
  ]);
  t.deepEqual(more.skipped.map((k) => [k.observation.port, k.reason]), [[3128, { kind: 'allowed', app: 'a' }]]);
});

test('app names derived from domains are valid', (t) => {
  t.is(appNameFor('mozilla_t'), 'mozilla');
  t.is(appNameFor('Foo__Bar_t'), 'foo_bar');
  t.is(appNameFor('9lives_t'), 'lives');
  t.is(appNameFor('_t'), 'app');
  t.is(appNameFor(`a${'b'.repeat(60)}_t`).length, 32);
});

// Small pools as well as random values, so that domains collide on the same peers and ports.
const TYPE = fc.oneof(fc.constantFrom('smc_a_t', 'smc_b_t', 'A_t'), fc.stringMatching(/^[a-z][a-z0-9_]{0,40}_t$/));
const V4 = fc.oneof(fc.integer({ min: 1, max: 3 }).map((x) => `198.51.100.${x}`), fc.ipV4());
// fe80::1: link-local peers are skipped as neighbour discovery, by both runs.
const V6 = fc.oneof(fc.integer({ min: 1, max: 3 }).map((x) => `2001:db8::${x}`), fc.constant('fe80::1'), fc.ipV6());
const PORT = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(22, 80, 443, 40000, 50000));
const AVC = fc.record({
  v6: fc.boolean(), a: fc.integer({ min: 0, max: 9 }), b: fc.integer({ min: 0, max: 9 }),
  sport: fc.option(PORT, { nil: undefined }), dport: PORT, perm: fc.constantFrom<'send' | 'recv'>('send', 'recv'),
  verdict: fc.constantFrom<'denied' | 'granted'>('denied', 'granted'), domain: TYPE,
  addresses: fc.tuple(V4, V4, V6, V6),
}).map((r): PacketAvc => {
  const [s4, d4, s6, d6] = r.addresses;
  const ports = r.sport === undefined ? {} : { sport: r.sport, dport: r.dport };
  return avc({ family: r.v6 ? 'ipv6' : 'ipv4', saddr: r.v6 ? s6 : s4, daddr: r.v6 ? d6 : d4, ...ports, sport: ports.sport, dport: ports.dport,
    permissions: [r.perm], verdict: r.verdict, domain: r.domain });
});

test('property: the snippet is a valid policy, and learning again from it suggests nothing', (t) => {
  fc.assert(
    fc.property(fc.array(AVC, { maxLength: 30 }), fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'), (avcs, protocol) => {
      const options = { protocol, ephemeral: { from: 32768, to: 60999 } };
      const s = suggestPolicy(avcs, undefined, options);
      const compiled = compilePolicy(`version: 1\nunlabeled: deny\n${emitSnippet(s)}`, 'learned.yaml');
      if (!compiled.ok) throw new Error(compiled.diagnostics.map((d) => d.message).join('\n') + '\n' + emitSnippet(s));
      const again = suggestPolicy(avcs, compiled.policy, options);
      // Everything is either allowed now, or lost a conflict to another domain (claimed), or was
      // skipped for the same reason the first time (neighbour discovery: fe80::/10 peers).
      const firstSkips = new Set(s.skipped.map((k) => JSON.stringify([k.observation, k.reason.kind])));
      const explained = (k: (typeof again.skipped)[number]) =>
        k.reason.kind === 'allowed' || k.reason.kind === 'claimed' || firstSkips.has(JSON.stringify([k.observation, k.reason.kind]));
      return again.apps.length === 0 && again.skipped.every(explained) &&
        again.skipped.filter((k) => k.reason.kind === 'allowed').length === s.apps.reduce((n, a) => n + a.connect.length + a.serve.length, 0);
    }),
    { numRuns: 300, seed: 1670807612 },
  );
  t.pass();
});

test('real granted lines from the learn scenario (unlabeled: audit) with its policy', (t) => {
  const parsed = parsePacketAvcs(readFileSync(join(ROOT, 'test/fixtures/avc/learn-dmesg.log'), 'utf8'));
  t.deepEqual(parsed.malformed, []);
  t.is(parsed.avcs.length, 25);
  t.is(parsed.avcs.filter((a) => a.verdict === 'granted').length, 22);
  // Before the switch to deny (at 1795920806).
  const audited = suggestPolicy(parsed.avcs.filter((a) => a.time! < 1795920800), SKELETON);
  t.deepEqual(audited.apps.map((a) => [a.name, a.existing, a.connect.map((o) => `${o.peer} ${o.protocol}/${o.port} ${o.granted}`), a.serve.map((o) => `${o.peer} ${o.protocol}/${o.port}`)]), [
    ['a', true, ['192.0.2.10 tcp/80 9'], []],
    // The peer's echo server (unconfined_t in a namespace of the same kernel) answered on tcp/80.
    ['unconfined', false, [], ['192.0.2.1 tcp/80']],
  ]);
  t.deepEqual(audited.skipped.map((k) => `${k.observation.domain} ${k.observation.protocol} ${k.reason.kind}`), [
    'kernel_t tcp conflict',
    'kernel_t icmpv6 neighbour-discovery',
    'smc_b_t tcp claimed',
  ]);
});
