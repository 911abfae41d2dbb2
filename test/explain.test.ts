// explain: the sesearch parser on real output captured in the VM guest, attribute expansion, the
// chain evaluator (default → port label → app rule, as the kernel runs them), and the answers.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { compilePolicy } from '../src/compile/compile.js';
import { parseEndpoint, type Endpoint } from '../src/explain/endpoint.js';
import { evaluateNewConnection } from '../src/explain/evaluate.js';
import { explainConnection, explainDomain, grantsByType } from '../src/explain/explain.js';
import { packetTypeOrigins } from '../src/explain/origins.js';
import { derivePortTable, type PortTable } from '../src/port-labels/port-table.js';
import { parseAttributeMembers } from '../src/selinux/seinfo-parse.js';
import { parsePacketRules, SesearchParseError } from '../src/selinux/sesearch-parse.js';
import { FIXTURES, readPolicy, readPortTable } from './helpers/fixtures.js';

const SELINUX = join(FIXTURES, 'selinux');
const fixture = (name: string): string => readFileSync(join(SELINUX, name), 'utf8');
const PORTS_DIR = join(FIXTURES, 'valid', 'ports-policy');

function compiledPortsFixture() {
  const result = compilePolicy(readPolicy(PORTS_DIR), 'policy.yaml', readPortTable(PORTS_DIR));
  if (!result.ok) throw new Error('fixture does not compile');
  return result;
}

const members = (name: string): string[] | undefined =>
  name === 'client_packet_type' ? parseAttributeMembers(fixture('seinfo-attribute-client_packet_type.txt')) : name === 'packet_type' ? parseAttributeMembers(fixture('seinfo-attribute-packet_type.txt')) : undefined;

function endpoint(text: string): Endpoint {
  const e = parseEndpoint(text);
  if (typeof e === 'string') throw new Error(e);
  return e;
}

const out = (text: string) => {
  const e = endpoint(text);
  return { family: e.family, saddr: 0n, daddr: e.address, proto: e.proto, dport: e.port };
};
const inb = (text: string) => {
  const e = endpoint(text);
  return { family: e.family, saddr: e.address, daddr: 0n, proto: e.proto, dport: e.port };
};

test('sesearch: braces, a single permission, attributes, empty output, conditional rules', (t) => {
  t.deepEqual(parsePacketRules(fixture('sesearch-packet-smc_a_t.txt')).map((r) => [r.source, r.target, r.permissions]), [
    ['smc_a_t', 'client_packet_t', ['recv', 'send']],
    ['smc_a_t', 'http_client_packet_t', ['recv', 'send']],
  ]);
  t.deepEqual(parsePacketRules(fixture('sesearch-packet-smc_c_t.txt')).map((r) => [r.target, r.permissions]), [['client_packet_type', ['send']]]);
  t.deepEqual(parsePacketRules(fixture('sesearch-packet-unconfined_t.txt')).map((r) => r.source), ['corenet_unconfined_type', 'kern_unconfined']);
  t.deepEqual(parsePacketRules(fixture('sesearch-packet-smc_b_t.txt')), []);
  const [cond] = parsePacketRules('allow nfsd_t nfs_server_packet_t:packet { recv send }; [ nfs_export_all_rw ]:True\n');
  t.is(cond?.condition, '[ nfs_export_all_rw ]:True');
  t.throws(() => parsePacketRules(fixture('sesearch-packet-missing.txt')), { instanceOf: SesearchParseError });
});

test('attributes on the target side are expanded: smc_c_t may send, not recv, every client packet type', (t) => {
  const grants = grantsByType(parsePacketRules(fixture('sesearch-packet-smc_c_t.txt')), members);
  t.is(grants.get('http_client_packet_t')?.send.length, 1);
  t.is(grants.get('http_client_packet_t')?.recv.length, 0);
  t.is(grants.has('http_server_packet_t'), false);
  const unconfined = grantsByType(parsePacketRules(fixture('sesearch-packet-unconfined_t.txt')), members);
  t.true(unconfined.get('http_server_packet_t')?.recv.length === 1);
  t.true(unconfined.get('unlabeled_t')?.send.length === 1);
});

test('evaluator on the ports fixture: app rule wins over the port label, port label over the default', (t) => {
  const { compiled } = compiledPortsFixture();
  const rs = compiled.ruleset;
  t.is(evaluateNewConnection(rs, 'output', out('192.0.2.10:80/tcp')).type, 'secmarkc_browser_client_packet_t');
  t.is(evaluateNewConnection(rs, 'output', out('192.0.2.11:80/tcp')).type, 'http_client_packet_t');
  t.is(evaluateNewConnection(rs, 'output', out('[2001:db8::10]:80/tcp')).type, 'http_client_packet_t');
  t.is(evaluateNewConnection(rs, 'output', out('192.0.2.10:8009/tcp')).type, 'http_client_packet_t');
  t.is(evaluateNewConnection(rs, 'output', out('192.0.2.10:53/udp')).type, 'dns_client_packet_t');
  t.is(evaluateNewConnection(rs, 'output', out('192.0.2.10:53/tcp')).type, 'client_packet_t');
  t.is(evaluateNewConnection(rs, 'output', out('192.0.2.10:5000/sctp')).type, 'client_packet_t'); // server-only label
  t.is(evaluateNewConnection(rs, 'input', inb('198.51.100.1:22/tcp')).type, 'ssh_server_packet_t');
  t.is(evaluateNewConnection(rs, 'input', inb('198.51.100.1:9005/tcp')).type, 'server_packet_t'); // client-only label
  t.is(evaluateNewConnection(rs, 'input', inb('198.51.100.1:5000/sctp')).type, 'example_server_packet_t');
});

test('evaluator with ports: none: what no app rule labels is unlabeled_t', (t) => {
  const result = compilePolicy('version: 1\nunlabeled: deny\napps:\n  a:\n    domain: a_t\n    connect:\n      - to: [192.0.2.0/24]\n        ports: [tcp/443]\n', 'p.yaml');
  if (!result.ok) return t.fail();
  t.is(evaluateNewConnection(result.compiled.ruleset, 'output', out('192.0.2.7:443/tcp')).type, 'secmarkc_a_client_packet_t');
  t.is(evaluateNewConnection(result.compiled.ruleset, 'output', out('192.0.2.7:444/tcp')).type, 'unlabeled_t');
  t.is(evaluateNewConnection(result.compiled.ruleset, 'output', out('[2001:db8::7]:443/tcp')).type, 'unlabeled_t');
  t.is(evaluateNewConnection(result.compiled.ruleset, 'input', inb('192.0.2.7:443/tcp')).type, 'unlabeled_t');
});

test('property: the evaluated label is the app entry if one covers the peer, else the port label, else the default', (t) => {
  const hosts = ['192.0.2.1', '192.0.2.2', '192.0.2.0/30', '198.51.100.0/24'];
  const entry = fc.record({ to: fc.subarray(hosts, { minLength: 1 }), port: fc.integer({ min: 1, max: 12 }), len: fc.integer({ min: 0, max: 3 }) });
  const portcon = fc.record({ from: fc.integer({ min: 1, max: 14 }), len: fc.integer({ min: 0, max: 4 }), type: fc.constantFrom('p_port_t', 'q_port_t', 'r_port_t') });
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 3 }), fc.array(entry, { maxLength: 2 }), fc.array(portcon, { maxLength: 5 }), (aRules, bRules, portcons) => {
      const rules = (rs: typeof aRules) => rs.map((r) => `      - to: [${r.to.join(', ')}]\n        ports: [tcp/${r.port}-${r.port + r.len}]`).join('\n');
      const apps = [['a', aRules], ['b', bRules]].filter(([, rs]) => (rs as typeof aRules).length > 0);
      const text = `version: 1\nunlabeled: deny\nports: policy\napps:\n${apps.map(([name, rs]) => `  ${name}:\n    domain: ${name}_t\n    connect:\n${rules(rs as typeof aRules)}`).join('\n')}\n`;
      const table: PortTable = derivePortTable(portcons.map((p) => ({ protocol: 'tcp', from: p.from, to: p.from + p.len, portType: p.type })), ['p_client_packet_t', 'q_client_packet_t'], []);
      const result = compilePolicy(text, 'p.yaml', { portTable: table });
      if (!result.ok) return true; // overlapping entries of two apps: refused, nothing to evaluate
      for (const host of ['192.0.2.1', '192.0.2.3', '198.51.100.9', '203.0.113.1']) {
        for (let port = 1; port <= 19; port++) {
          const got = evaluateNewConnection(result.compiled.ruleset, 'output', out(`${host}:${port}/tcp`)).type;
          const inHost = (h: string) => (h.includes('/') ? (h === '192.0.2.0/30' ? host.startsWith('192.0.2.') && Number(host.split('.')[3]) <= 3 : host.startsWith('198.51.100.')) : h === host);
          const app = apps.find(([, rs]) => (rs as typeof aRules).some((r) => r.to.some(inHost) && r.port <= port && port <= r.port + r.len));
          const label = table.labels.find((l) => l.from <= port && port <= l.to)?.client;
          const expected = app ? `secmarkc_${app[0] as string}_client_packet_t` : (label ?? 'client_packet_t');
          if (got !== expected) return false;
        }
      }
      return true;
    }),
    { numRuns: 200 },
  );
  t.pass();
});

test('explain --connect answers: allowed, refused with the missing permission and where the label comes from', (t) => {
  const loaded = compiledPortsFixture();
  const origins = packetTypeOrigins(loaded.policy, readPortTable(PORTS_DIR).portTable);
  const a = grantsByType(parsePacketRules(fixture('sesearch-packet-smc_a_t.txt')), members);
  const c = grantsByType(parsePacketRules(fixture('sesearch-packet-smc_c_t.txt')), members);
  const rs = loaded.compiled.ruleset;
  const ok = explainConnection(rs, 'output', out('192.0.2.11:80/tcp'), 'smc_a_t', a, origins);
  t.true(ok.allowed);
  t.regex(ok.message, /^allowed: smc_a_t may send and recv http_client_packet_t \(label from port label of port 80 \(map port_client, ports: policy at policy\.yaml:5:8\)\)$/);
  const app = explainConnection(rs, 'output', out('192.0.2.10:80/tcp'), 'smc_a_t', a, origins);
  t.false(app.allowed);
  t.is(app.message, 'refused: smc_a_t lacks send and recv on secmarkc_browser_client_packet_t (label from policy.yaml:11:17 (app "browser" connect (policy.yaml:10:9)))');
  const half = explainConnection(rs, 'output', out('192.0.2.11:80/tcp'), 'smc_c_t', c, origins);
  t.regex(half.message, /^refused: smc_c_t lacks recv on http_client_packet_t/);
  const dflt = explainConnection(rs, 'output', out('192.0.2.11:40000/tcp'), 'smc_a_t', a, origins);
  t.regex(dflt.message, /^allowed: .* client_packet_t \(label from default for new outbound connections \(ports: policy, policy\.yaml:5:8\)\)$/);
});

test('explain DOMAIN: types our policy produces first, with their origins', (t) => {
  const loaded = compiledPortsFixture();
  const origins = packetTypeOrigins(loaded.policy, readPortTable(PORTS_DIR).portTable);
  const entries = explainDomain(grantsByType(parsePacketRules(fixture('sesearch-packet-smc_a_t.txt')), members), origins);
  t.deepEqual(entries.map((e) => [e.type, e.send, e.recv, e.origins.map((o) => o.kind)]), [
    ['client_packet_t', true, true, ['default']],
    ['http_client_packet_t', true, true, ['port']],
  ]);
  const http = entries[1]?.origins[0];
  t.like(http, { kind: 'port', direction: 'client', ports: ['tcp/80', 'tcp/8008', 'tcp/8009'], at: 'policy.yaml:5:8' });
});

test('endpoints: IPv4, bracketed IPv6, and clear errors', (t) => {
  t.like(endpoint('192.0.2.10:443/tcp'), { family: 'ipv4', port: 443, protocol: 'tcp', proto: 6 });
  t.like(endpoint('[2001:db8::1]:53/udp'), { family: 'ipv6', port: 53, proto: 17 });
  t.regex(parseEndpoint('2001:db8::1:443/tcp') as string, /expected ADDRESS:PORT\/PROTO|brackets/);
  t.regex(parseEndpoint('192.0.2.10:443/icmp') as string, /protocol must be one of/);
  t.regex(parseEndpoint('192.0.2.10:0/tcp') as string, /out of range/);
  t.regex(parseEndpoint('192.0.2.0/24:443/tcp') as string, /expected ADDRESS|single/);
  t.regex(parseEndpoint('example.org:443/tcp') as string, /not a single IPv4 or IPv6 address/);
});
