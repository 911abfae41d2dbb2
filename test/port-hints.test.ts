// Common port mistakes get the spelling to use (issue 15): in the policy (`3128/tcp`, `https`,
// `tcp:443`, `tcp/1000:2000`, ...; the whole list is test/fixtures/invalid/port-hints) and in
// `explain --connect/--accept` (`192.0.2.10:443`, `192.0.2.10:tcp/443`, IPv6 without brackets).

import test from 'ava';
import fc from 'fast-check';
import { parseEndpoint } from '../src/explain/endpoint.js';
import { parsePortEntry } from '../src/policy/ports.js';
import { runCli } from './helpers/cli.js';

const hint = (entry: string): string => {
  const r = parsePortEntry(entry);
  return r.ok ? 'ok' : `${r.code}: ${r.message}`;
};

test('policy port entries: the usual slips name the entry to write', (t) => {
  t.is(hint('3128/tcp'), 'SMC030: "3128/tcp": the protocol comes first in a port entry; write tcp/3128');
  t.is(hint('https'), 'SMC030: "https": a service name, not a port entry; write tcp/443');
  t.is(hint('SSH'), 'SMC030: "SSH": a service name, not a port entry; write tcp/22');
  t.is(hint('tcp/https'), 'SMC030: "tcp/https": "https" is a service name, not a port; write tcp/443');
  t.is(hint('dns'), 'SMC030: "dns": a service name, not a port entry; write udp/53 and tcp/53 (one entry each)');
  t.is(hint('tcp:443'), 'SMC030: "tcp:443": protocol and port are separated by "/"; write tcp/443');
  t.is(hint('tcp/1000:2000'), 'SMC030: "tcp/1000:2000": a port range is written with "-"; write tcp/1000-2000');
  t.is(hint('tcp/80, 443'), 'SMC030: "tcp/80, 443": one port or range per entry; write tcp/80, tcp/443');
  t.is(hint('443'), 'SMC030: "443": a port needs its protocol; write tcp/443 or udp/443');
  t.is(hint('tcp6/22'), 'SMC033: "tcp6/22": unknown protocol "tcp6"; write tcp/22 (one entry covers IPv4 and IPv6)');
  t.is(hint('tpc/22'), 'SMC033: "tpc/22": unknown protocol "tpc" (expected tcp, udp, sctp, icmp or icmpv6); did you mean "tcp"?');
  // What was refused before stays refused the same way.
  t.is(hint('TCP/22'), 'SMC098: "TCP/22": protocol TCP is not in lower case; write tcp');
  t.is(hint('tcp/080'), 'SMC096: "tcp/080": port 080 has a leading zero; write 80');
});

test('property: no hint ever catches a valid entry', (t) => {
  const entry = fc.oneof(
    fc.tuple(fc.constantFrom('tcp', 'udp', 'sctp'), fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 100 }), fc.boolean()).map(([p, from, width, range]) => (range ? `${p}/${from}-${Math.min(65535, from + width)}` : `${p}/${from}`)),
    fc.constantFrom('icmp', 'icmpv6', ' tcp/22 ', '\ttcp/22'),
  );
  fc.assert(fc.property(entry, (e) => parsePortEntry(e).ok));
  t.pass();
});

test('property: any text gets a result, never an exception; a hint is a diagnostic like the others', (t) => {
  const word = fc.constantFrom('tcp', 'udp', 'https', 'constructor', '__proto__', 'toString', '443', '1-2', '/', ':', ',', ' ', '*', 'icmp6', 'TCP');
  const text = fc.oneof(fc.string(), fc.array(word, { maxLength: 5 }).map((w) => w.join('')));
  fc.assert(
    fc.property(text, (e) => {
      const r = parsePortEntry(e);
      return r.ok || (/^SMC0\d\d$/.test(r.code) && r.message.startsWith(`"${e}": `) && !r.message.includes('undefined'));
    }),
  );
  t.pass();
});

test('check prints the hint as FILE:LINE:COL: error SMCnnn at the entry', (t) => {
  const policy = 'version: 1\nunlabeled: allow\napps:\n  proxy:\n    domain: proxy_t\n    connect:\n      - ports: [tcp/80, 3128/tcp]\n';
  const r = runCli(['check', '-'], policy);
  t.is(r.status, 2);
  t.is(r.stderr.split('\n')[0], '<stdin>:7:25: error SMC030: "3128/tcp": the protocol comes first in a port entry; write tcp/3128');
});

test('explain --connect/--accept: the usual slips name the peer to write', (t) => {
  const said = (text: string): string => {
    const r = parseEndpoint(text);
    return typeof r === 'string' ? r : 'ok';
  };
  t.is(said('192.0.2.10:443'), '"192.0.2.10:443": the protocol is missing (443/tcp, 443/udp, ...); write 192.0.2.10:443/tcp');
  t.is(said('192.0.2.10:tcp/443'), '"192.0.2.10:tcp/443": here the port comes first (PORT/PROTO); write 192.0.2.10:443/tcp');
  t.is(said('192.0.2.10:https'), '"192.0.2.10:https": "https" is a service name, not a port; write 192.0.2.10:443/tcp');
  t.is(said('2001:db8::1:443/tcp'), '"2001:db8::1:443/tcp": an IPv6 address goes in brackets; write [2001:db8::1]:443/tcp');
  t.is(said('tcp/443'), '"tcp/443": the peer\'s address is missing; write ADDRESS:443/tcp, e.g. 192.0.2.10:443/tcp');
  t.is(said('192.0.2.10:443/TCP'), '"192.0.2.10:443/TCP": protocols are lower case; write 192.0.2.10:443/tcp');
  t.is(said('[2001:db8::1]:443/tcp'), 'ok');
  const r = runCli(['explain', 'smc_a_t', '--policy', 'test/fixtures/valid/ports-policy/policy.yaml', '--accept', '192.0.2.10:22']);
  t.is(r.status, 2);
  t.is(r.stderr.trim(), 'secmarkc: --accept "192.0.2.10:22": the protocol is missing (22/tcp, 22/udp, ...); write 192.0.2.10:22/tcp');
});
