// Strict scalars: plain YAML 1.2 (core schema) without tags; numbers written as plain decimal
// integers; ports without leading zeros. Each is refused with its own code, at its position.

import test from 'ava';
import { compilePolicy } from '../src/compile/compile.js';
import { formatDiagnostic } from '../src/policy/diagnostics.js';
import { parseAddress } from '../src/policy/address.js';
import { parsePortEntry } from '../src/policy/ports.js';

const policy = (domain: string, version = '1'): string =>
  `version: ${version}\nunlabeled: allow\napps:\n  a:\n    domain: ${domain}\n    connect:\n      - ports: [tcp/80]\n`;

function lines(text: string): string[] {
  return compilePolicy(text, 'p.yaml').diagnostics.map(formatDiagnostic);
}

test('every explicit tag is refused where it is written (SMC009), core schema tags too', (t) => {
  for (const tag of ['!!binary', '!!str', '!!int', '!!timestamp', '!', '!foo', '!<tag:yaml.org,2002:str>', '!<!bar>']) {
    t.deepEqual(lines(policy(`${tag} ${tag === '!!timestamp' ? '2001-12-14' : 'a_t'}`)), [`p.yaml:5:13: error SMC009: "domain" of app "a": YAML tags such as "${tag === '!<tag:yaml.org,2002:str>' ? '!!str' : tag === '!<!bar>' ? '!bar' : tag}" are not supported; write the plain value`], tag);
  }
  // On collections and keys as well.
  t.deepEqual(lines(policy('!!seq [a_t]')).map((l) => l.slice(0, 30)), ['p.yaml:5:13: error SMC009: "do']);
  t.deepEqual(lines('version: 1\nunlabeled: allow\napps: !!map\n  a: {domain: a_t, connect: [{ports: [tcp/80]}]}\n').map((l) => l.slice(0, 30)), ['p.yaml:3:7: error SMC009: "app']);
  // A refused key is no key: "apps" is then missing too.
  t.deepEqual(lines('version: 1\nunlabeled: allow\n!!str apps:\n  a: {domain: a_t, connect: [{ports: [tcp/80]}]}\n').map((l) => l.slice(0, 30)), ['p.yaml:1:1: error SMC004: miss', 'p.yaml:3:1: error SMC009: keys']);
});

test('!!binary never decodes into a domain: "dW5jb25maW5lZF90" is not unconfined_t', (t) => {
  const result = compilePolicy(policy('!!binary dW5jb25maW5lZF90'), 'p.yaml');
  t.false(result.ok);
  t.false(JSON.stringify(result).includes('unconfined_t'));
});

test('a number must be written as a plain decimal integer (SMC095)', (t) => {
  for (const written of ['0x1', '0o1', '1e0', '1.0', '+1', '01', '.inf', '-1', '0x10']) {
    const [first, ...rest] = lines(policy('a_t', written));
    t.is(rest.length, 0, written);
    t.regex(first ?? '', new RegExp(`^p\\.yaml:1:10: error SMC095: "version": "${written.replace(/[.+]/g, '\\$&')}" must be written as a plain decimal integer`), written);
  }
  t.deepEqual(lines(policy('a_t', '1')), []);
  t.deepEqual(lines(policy('a_t', '"1"')), [], 'a string is what it says');
  t.deepEqual(lines(policy('a_t', '2')), ['p.yaml:1:10: error SMC005: unsupported policy version 2 (this tool reads version: 1)']);
});

test('numbers in lists of strings keep the text they were written as', (t) => {
  const text = 'version: 1\nunlabeled: allow\napps:\n  a:\n    domain: a_t\n    connect:\n      - to: [0x7f000001]\n        ports: [0x16, 1e3]\n';
  t.deepEqual(lines(text), [
    'p.yaml:7:14: error SMC020: "0x7f000001" is not an IPv4 or IPv6 address',
    'p.yaml:8:17: error SMC033: "0x16": unknown protocol "0x16" (expected tcp, udp, sctp, icmp or icmpv6)',
    'p.yaml:8:23: error SMC033: "1e3": unknown protocol "1e3" (expected tcp, udp, sctp, icmp or icmpv6)',
  ]);
});

test('a port with a leading zero is refused (SMC096), in a range too', (t) => {
  for (const [text, digits] of [['tcp/080', '080'], ['tcp/00022', '00022'], ['udp/01-2', '01'], ['sctp/1-0100', '0100'], ['tcp/00', '00']] as const) {
    const result = parsePortEntry(text);
    t.deepEqual(result, { ok: false, code: 'SMC096', message: `"${text}": port ${digits} has a leading zero; write ${Number(digits)}` }, text);
  }
  t.like(parsePortEntry('tcp/80'), { ok: true, from: 80, to: 80 });
  t.like(parsePortEntry('tcp/10-100'), { ok: true, from: 10, to: 100 });
  t.like(parsePortEntry('tcp/0'), { ok: false, code: 'SMC031' });
});

test('only ASCII spaces and tabs around an address or a port are ignored; other white space is refused where it is written (SMC020, SMC030)', (t) => {
  const rule = (to: string, port = 'tcp/22') => `version: 1\nunlabeled: allow\napps:\n  a:\n    domain: a_t\n    connect:\n      - to: ["${to}"]\n        ports: ["${port}"]\n`;
  // Written as YAML escapes, so that the file holds the characters themselves.
  for (const [written, char] of [
    ['192.0.2.1\\u00a0', 'U+00A0'],
    ['\\u2028192.0.2.1', 'U+2028'],
    ['192.0.2.1\\u3000', 'U+3000'],
    ['\\ufeff192.0.2.1', 'U+FEFF'],
    ['2001:db8::1\\u2029', 'U+2029'],
    ['192.0.2.1\\u00a0-192.0.2.9', 'U+00A0'],
    ['192.0.2.1-\\u0085192.0.2.9', 'U+0085'],
    ['192.0.2.0/24\\u00a0', 'U+00A0'],
  ] as const) {
    const [first, ...rest] = lines(rule(written));
    t.is(rest.length, 0, written);
    t.regex(first ?? '', new RegExp(`^p\\.yaml:7:14: error SMC020: ".*": ${char.replace('+', '\\+')} is not part of an address \\(only ASCII spaces and tabs may surround one\\)$`), written);
  }
  for (const [written, char] of [
    ['tcp/22\\u00a0', 'U+00A0'],
    ['\\u2028tcp/22', 'U+2028'],
    ['tcp\\u00a0/22', 'U+00A0'],
    ['icmp\\u3000', 'U+3000'],
  ] as const) {
    const [first, ...rest] = lines(rule('192.0.2.1', written));
    t.is(rest.length, 0, written);
    t.regex(first ?? '', new RegExp(`^p\\.yaml:8:17: error SMC030: ".*": ${char.replace('+', '\\+')} is not part of a port entry \\(only ASCII spaces and tabs may surround one\\)$`), written);
  }
  // ASCII spaces and tabs, in quotes or around the dash of a range, still are.
  t.deepEqual(lines(rule(' 192.0.2.1\\t', ' tcp/22 ')), []);
  t.deepEqual(lines(rule('192.0.2.1 - 192.0.2.9', 'udp / 53')), []);
});

test('a prefix length with a leading zero is refused (SMC097), as a port is', (t) => {
  for (const [text, digits] of [['192.0.2.0/024', '024'], ['2001:db8::/032', '032'], ['0.0.0.0/00', '00'], ['192.0.2.1/032', '032']] as const) {
    t.deepEqual(parseAddress(text), { ok: false, code: 'SMC097', message: `"${text}": prefix length ${digits} has a leading zero; write ${Number(digits)}` }, text);
  }
  t.like(parseAddress('192.0.2.0/24'), { ok: true });
  t.like(parseAddress('0.0.0.0/0'), { ok: true });
  const text = 'version: 1\nunlabeled: allow\ngroups:\n  g: [10.0.0.0/08]\napps:\n  a:\n    domain: a_t\n    connect:\n      - to: [192.0.2.0/024]\n        ports: [tcp/80]\n';
  t.deepEqual(lines(text), [
    'p.yaml:4:7: error SMC097: "10.0.0.0/08": prefix length 08 has a leading zero; write 8',
    'p.yaml:9:14: error SMC097: "192.0.2.0/024": prefix length 024 has a leading zero; write 24',
  ]);
});

test('a protocol is written in lower case (SMC098): TCP/22 is refused, not read as tcp/22', (t) => {
  for (const [text, protocol, lower] of [['TCP/22', 'TCP', 'tcp'], ['Udp/53', 'Udp', 'udp'], ['sCTP/1-2', 'sCTP', 'sctp'], ['ICMP', 'ICMP', 'icmp'], ['ICMPv6', 'ICMPv6', 'icmpv6']] as const) {
    t.deepEqual(parsePortEntry(text), { ok: false, code: 'SMC098', message: `"${text}": protocol ${protocol} is not in lower case; write ${lower}` }, text);
  }
  t.like(parsePortEntry('FOO/1'), { ok: false, code: 'SMC033', message: '"FOO/1": unknown protocol "FOO" (expected tcp, udp, sctp, icmp or icmpv6)' });
  t.deepEqual(lines(policy('a_t').replace('tcp/80', 'TCP/22')), ['p.yaml:7:17: error SMC098: "TCP/22": protocol TCP is not in lower case; write tcp']);
});
