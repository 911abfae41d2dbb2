// The exclusivity audit on rule sets shaped like setools' answers (attributes expanded, boolean
// conditionals evaluated), and the checks on the helper's JSON. The same audit against a real
// refpolicy binary is in exclusive-refpolicy.test.ts.

import test from 'ava';
import { auditExclusivity } from '../src/audit/exclusive.js';
import { compilePolicy } from '../src/compile/compile.js';
import { formatDiagnostic } from '../src/policy/diagnostics.js';
import type { PacketRuleUse, PacketUsers } from '../src/selinux/packet-users.js';
import { parseQueryOutput } from '../src/selinux/packet-users.js';

const POLICY = `version: 1
unlabeled: deny
apps:
  browser:
    domain: mozilla_t
    connect:
      - to: [192.0.2.10]
        ports: [tcp/3128]
`;
const TYPE = 'secmarkc_browser_client_packet_t';

function compiled() {
  const r = compilePolicy(POLICY, 'policy.yaml');
  if (!r.ok) throw new Error('fixture policy does not compile');
  return r;
}

const own: PacketRuleUse[] = [
  { rule: `allow mozilla_t ${TYPE}:packet { recv send };`, source: 'mozilla_t', sourceIsAttribute: false, target: TYPE, domains: ['mozilla_t'], permissions: ['recv', 'send'] },
  { rule: `allow kernel_t ${TYPE}:packet send;`, source: 'kernel_t', sourceIsAttribute: false, target: TYPE, domains: ['kernel_t'], permissions: ['send'] },
];

function audit(rules: PacketRuleUse[], extra: Partial<PacketUsers> = {}) {
  const r = compiled();
  const users: PacketUsers = { policy: 'policy.33', types: { [TYPE]: { exists: true, rules } }, permissive: [], ...extra };
  const span = r.compiled.module.types[0]!.span;
  return auditExclusivity(r.compiled.module, users, () => ({ what: 'app "browser" connect', span }), r.policy.table.span);
}

test('only the module\'s own grants: exclusive, users are the app domain and kernel_t (send)', (t) => {
  const a = audit(own);
  t.deepEqual(a.diagnostics, []);
  t.deepEqual(a.types[0]!.users, { kernel_t: ['send'], mozilla_t: ['recv', 'send'] });
  t.deepEqual(a.types[0]!.leaks, []);
});

test('a rule on an attribute that holds the type names every domain it lets in, with the rule, at the app', (t) => {
  const leak: PacketRuleUse = {
    rule: 'allow user_t client_packet_type:packet { recv send };',
    source: 'user_t',
    sourceIsAttribute: false,
    target: 'client_packet_type',
    domains: ['user_t'],
    permissions: ['recv', 'send'],
  };
  const wide: PacketRuleUse = {
    rule: 'allow corenet_unconfined_type packet_type:packet { forward_in forward_out recv relabelto send };',
    source: 'corenet_unconfined_type',
    sourceIsAttribute: true,
    target: 'packet_type',
    domains: ['initrc_t', 'kernel_t', 'unconfined_t'],
    permissions: ['recv', 'send'],
  };
  const a = audit([...own, leak, wide]);
  const lines = a.diagnostics.map(formatDiagnostic);
  t.is(lines.length, 2);
  t.is(lines[0], `policy.yaml:7:9: error SMC060: the label of app "browser" connect (${TYPE}) is not exclusive: a domain outside the app may recv and send it: user_t — it is in attribute client_packet_type, granted by: allow user_t client_packet_type:packet { recv send };`);
  // kernel_t is in the attribute, but lacks only recv: it is named, since recv is not ours to give.
  t.regex(lines[1]!, /3 domains outside the app may recv and send it: initrc_t, kernel_t, unconfined_t — it is in attribute packet_type, granted by: allow corenet_unconfined_type packet_type/);
  t.deepEqual(a.types[0]!.users, { initrc_t: ['recv', 'send'], kernel_t: ['recv', 'send'], mozilla_t: ['recv', 'send'], unconfined_t: ['recv', 'send'], user_t: ['recv', 'send'] });
});

test('rules on one attribute are one diagnostic with every domain; rules on the type itself one each', (t) => {
  const onAttribute = (domain: string): PacketRuleUse => ({
    rule: `allow ${domain} client_packet_type:packet { recv send };`,
    source: domain,
    sourceIsAttribute: false,
    target: 'client_packet_type',
    domains: [domain],
    permissions: ['recv', 'send'],
  });
  const direct = (domain: string): PacketRuleUse => ({ rule: `allow ${domain} ${TYPE}:packet send;`, source: domain, sourceIsAttribute: false, target: TYPE, domains: [domain], permissions: ['send'] });
  const a = audit([...own, ...['apt_t', 'user_t', 'staff_t'].map(onAttribute), direct('smc_c_t'), direct('smc_b_t')]);
  const messages = a.diagnostics.map((d) => d.message);
  t.is(messages.length, 3);
  t.true(messages.some((m) => m.includes('3 domains outside the app may recv and send it: apt_t, staff_t, user_t — it is in attribute client_packet_type (3 rules grant it; the first), granted by: allow apt_t client_packet_type:packet { recv send };')));
  t.true(messages.some((m) => m.endsWith(`a domain outside the app may send it: smc_c_t — granted by: allow smc_c_t ${TYPE}:packet send;`)));
  t.true(messages.some((m) => m.endsWith(`a domain outside the app may send it: smc_b_t — granted by: allow smc_b_t ${TYPE}:packet send;`)));
  t.is(a.types[0]!.leaks.length, 5);
});

test('a conditional rule that is off now is a warning that names its booleans; one that is on is an error', (t) => {
  const cond = (active: boolean, state: boolean): PacketRuleUse => ({
    rule: `allow httpd_t ${TYPE}:packet recv; [ httpd_can_network_connect ]:True`,
    source: 'httpd_t',
    sourceIsAttribute: false,
    target: TYPE,
    domains: ['httpd_t'],
    permissions: ['recv'],
    condition: { expression: 'httpd_can_network_connect', booleans: { httpd_can_network_connect: state }, active },
  });
  const off = audit([...own, cond(false, false)]);
  t.deepEqual(off.diagnostics.map((d) => `${d.severity} ${d.code}`), ['warning SMC061']);
  t.regex(off.diagnostics[0]!.message, /httpd_can_network_connect=off.*httpd_t/);
  t.false('httpd_t' in off.types[0]!.users);
  const on = audit([...own, cond(true, true)]);
  t.deepEqual(on.diagnostics.map((d) => `${d.severity} ${d.code}`), ['error SMC060']);
  t.deepEqual(on.types[0]!.users.httpd_t, ['recv']);
});

test('a grant to an app domain on another rule is no leak; a wider grant to it is', (t) => {
  const again: PacketRuleUse = { rule: `allow mozilla_t ${TYPE}:packet send;`, source: 'mozilla_t', sourceIsAttribute: false, target: TYPE, domains: ['mozilla_t'], permissions: ['send'] };
  t.deepEqual(audit([...own, again]).diagnostics, []);
  const kernelRecv: PacketRuleUse = { rule: `allow kernel_t ${TYPE}:packet recv;`, source: 'kernel_t', sourceIsAttribute: false, target: TYPE, domains: ['kernel_t'], permissions: ['recv'] };
  t.deepEqual(audit([...own, kernelRecv]).diagnostics.map((d) => d.code), ['SMC060']);
});

test('without the module\'s own rules in the policy, nothing is taken for ours', (t) => {
  // A policy where the module is installed but something else grants the app domain: the
  // app domain's grant is still recognised by its source and permissions.
  const a = audit([own[0]!]);
  t.deepEqual(a.diagnostics, []);
  t.deepEqual(a.types[0]!.users, { mozilla_t: ['recv', 'send'] });
});

test('a type the policy does not have is reported as not audited, not as exclusive', (t) => {
  const r = compiled();
  const a = auditExclusivity(r.compiled.module, { policy: 'loaded', types: { [TYPE]: { exists: false, rules: [] } }, permissive: [] }, () => ({ what: 'x', span: r.policy.table.span }), r.policy.table.span);
  t.false(a.types[0]!.audited);
  t.deepEqual(a.diagnostics, []);
});

test('permissive domains and a permissive kernel are warnings', (t) => {
  const a = audit(own, { permissive: ['foo_t'], enforcing: false });
  t.deepEqual(a.diagnostics.map((d) => `${d.severity} ${d.code}`), ['warning SMC062', 'warning SMC063']);
  t.regex(a.diagnostics[0]!.message, /foo_t/);
});

test('the setools helper\'s JSON is checked: names, permissions and conditions', (t) => {
  const good = { types: { [TYPE]: { exists: true, rules: [{ ...own[0], condition: { expression: 'b', booleans: { b: true }, active: true } }] } }, permissive: [] };
  t.is(parseQueryOutput(JSON.stringify(good)).types[TYPE]!.rules[0]!.condition?.active, true);
  t.throws(() => parseQueryOutput('Traceback (most recent call last)'), { message: /printed no JSON/ });
  t.throws(() => parseQueryOutput(JSON.stringify({ ...good, permissive: ['bad name\u001b[8m'] })), { message: /permissive/ });
  const badPerm = { types: { [TYPE]: { exists: true, rules: [{ ...own[0], permissions: ['relabelto'] }] } }, permissive: [] };
  t.throws(() => parseQueryOutput(JSON.stringify(badPerm)), { message: /permissions/ });
  const badDomain = { types: { [TYPE]: { exists: true, rules: [{ ...own[0], domains: ['x\ny'] }] } }, permissive: [] };
  t.throws(() => parseQueryOutput(JSON.stringify(badDomain)), { message: /domains/ });
});
