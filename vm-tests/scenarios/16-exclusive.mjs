// Exclusive labels against real refpolicy domains. The test domains hold no packet rules, so
// they can show that a grant works but never a leak; the domains here hold refpolicy's broad
// rules (unconfined_t and initrc_t: every packet_type; user_t and NetworkManager_t:
// client_packet_type). None of them may use an app's label, outbound or inbound; the kernel's
// own replies on a labelled connection still leave; the audit names exactly the app's domains;
// and a module that leaks a label is named by `check`, refused by `apply`, and really leaks.
import { setTimeout } from 'node:timers';
import { deniedPacket, verdict } from '../guest/lib.mjs';
import { HOST4, PEER4, PEER6, allowLowPorts, listeners, peerNetwork, policy } from '../guest/fixtures.mjs';

export const meta = { boot: 'exclusive', budgetSec: 900, needs: ['apply', 'check'], title: 'real refpolicy domains cannot use an app label; audit names leaks' };

const A_CLIENT = 'secmarkc_a_client_packet_t';
const SRV_SERVER = 'secmarkc_srv_server_packet_t';

/** Real domains, entered with a full context as a login or a service would have it. */
const REAL = [
  { id: 'unconfined-system', context: 'system_u:system_r:unconfined_t:s0', serve: ['tcp', 8080] },
  { id: 'unconfined-login', context: 'unconfined_u:unconfined_r:unconfined_t:s0', serve: ['tcp', 8080] },
  { id: 'initrc', context: 'system_u:system_r:initrc_t:s0', serve: ['tcp', 8080] },
  { id: 'user', context: 'user_u:user_r:user_t:s0', serve: ['tcp', 8080] },
  // NetworkManager_t may bind only its own ports: IKE (udp/500) is one.
  { id: 'networkmanager', context: 'system_u:system_r:NetworkManager_t:s0', serve: ['udp', 500] },
];

const deniedFor = (perm, context, type) => {
  const [user, role, domain] = context.split(':');
  return new RegExp(`avc:\\s+denied\\s+\\{ ${perm} \\}.*scontext=${user}:${role}:${domain}:\\S* tcontext=\\S*:${type}:\\S* tclass=packet`);
};


export async function run(t) {
  peerNetwork(t);
  allowLowPorts(t);
  await t.server(listeners([3128]), { ns: 'peer' });
  const yaml = policy({ srvServe: [{ ports: ['tcp/8080', 'udp/8053', 'udp/500'] }] });
  await t.apply('exclusive', yaml, { audit: true });

  // Outbound: only the app's domain reaches the proxy.
  await t.phase('connect', async () => {
    await t.expect('app-domain-connects', [{ id: 'tcp4', proto: 'tcp', host: PEER4, port: 3128, expect: 'ok' }, { id: 'tcp6', proto: 'tcp', host: PEER6, port: 3128, expect: 'ok' }], { domain: 'smc_a_t' });
    for (const real of REAL) {
      const mark = t.kmsg.read();
      const got = await t.contextClient(real.context, PEER4, 3128);
      verdict(t, `connect-refused:${real.id}`, got, 'refused', mark, deniedFor('send', real.context, A_CLIENT));
    }
  });

  // Inbound: only the app's domain is served on the app's port; the others, listening on the
  // same port, never see the connection (recv refused on the SYN).
  const user_tcp_server = t.run(['getsebool', 'user_tcp_server']).stdout.includes('on') ? 'on' : 'off';
  t.run(['setsebool', 'user_tcp_server', 'on']); // else user_t may not bind at all: no packet check
  t.cleanups.push(() => t.run(['setsebool', 'user_tcp_server', user_tcp_server], { allowFail: true }));
  await t.phase('serve', async () => {
    const app = await t.server(listeners([8080], [500]), { domain: 'smc_server_t' });
    await t.expect('app-domain-serves', [{ id: 'tcp4', proto: 'tcp', host: HOST4, port: 8080, expect: 'ok' }, { id: 'udp4-500', proto: 'udp', host: HOST4, port: 500, expect: 'ok' }], { ns: 'peer' });
    app.child.kill('SIGKILL');
    await new Promise((r) => app.child.on('close', r));
    for (const real of REAL) {
      const [proto, port] = real.serve;
      let server;
      try {
        server = await t.contextServer(real.context, proto, port);
      } catch (e) {
        t.check(`serve-refused:${real.id}`, false, { expected: 'a server in the real domain', got: e.message });
        continue;
      }
      const mark = t.kmsg.read();
      const got = (await t.probe([{ id: 'p', proto, host: HOST4, port }], { ns: 'peer' })).p;
      verdict(t, `serve-refused:${real.id}`, got, 'timeout', mark, deniedFor('recv', real.context, SRV_SERVER));
      server.stop();
      await new Promise((r) => setTimeout(r, 300));
    }
  });

  // The kernel answers on labelled connections from its own sockets (kernel_t): a RST for a
  // port nobody listens on, an ICMP port unreachable. They carry the connection's label and
  // must leave (the module grants kernel_t send), or the peer would wait instead of failing.
  await t.phase('kernel-replies', async () => {
    const mark = t.kmsg.read();
    const churn = [];
    for (let i = 0; i < 20; i++) churn.push({ id: `rst${i}`, proto: 'tcp', host: HOST4, port: 8080, timeoutMs: 4000, expect: 'refused' });
    for (let i = 0; i < 5; i++) churn.push({ id: `icmp${i}`, proto: 'udp', host: HOST4, port: 8053, timeoutMs: 4000, expect: 'refused' });
    await t.expect('kernel-replies-leave', churn, { ns: 'peer' });
    const kernelDenials = t.kernelSince(mark).filter((l) => deniedPacket('send', 'kernel_t', 'secmarkc_\\w+').test(l));
    t.check('no-kernel_t-denial-on-our-types', kernelDenials.length === 0, { expected: 0, got: kernelDenials.length, first: kernelDenials[0] ?? '' });
  });

  // The audit of the loaded policy: each type's users are exactly the app's domains (kernel_t: send).
  const expected = {
    [A_CLIENT]: { smc_a_t: 'recv send', kernel_t: 'send' },
    [SRV_SERVER]: { smc_a_t: 'recv send', smc_server_t: 'recv send', kernel_t: 'send' },
    secmarkc_srv_client_packet_t: { smc_a_t: 'recv send', smc_server_t: 'recv send', kernel_t: 'send' },
    secmarkc_other_server_packet_t: { smc_other_t: 'recv send', kernel_t: 'send' },
    secmarkc_ndp_packet_t: { kernel_t: 'recv send' }, // neighbour_discovery: [kernel_t], the default
  };
  const canonical = (byType) => JSON.stringify(Object.entries(byType).sort(([a], [b]) => a.localeCompare(b)).map(([type, users]) => [type, Object.entries(users).sort(([a], [b]) => a.localeCompare(b))]));
  const usersOf = (audit) => Object.fromEntries(audit.types.map((x) => [x.type, Object.fromEntries(Object.entries(x.users).map(([d, p]) => [d, p.join(' ')]))]));
  await t.phase('audit', async () => {
    const r = t.secmarkc(['check', '--json', '/tmp/policy.yaml'], { allowFail: true });
    const out = JSON.parse(r.stdout || '{}');
    t.check('check-exit-0', r.code === 0, { expected: 0, got: r.code, stderr: r.stderr.slice(0, 300) });
    const got = out.audit ? usersOf(out.audit) : {};
    t.check('audit-users-are-the-apps', canonical(got) === canonical(expected), { expected, got });
    // setools' own command line as an oracle independent of our audit: every rule that grants
    // send or recv on a secmarkc type, directly or through an attribute (sesearch matches
    // attributes by their members), is one the module wrote.
    const rules = t.run(['sesearch', '-A', '-c', 'packet', '-p', 'send,recv', '-t', '^secmarkc_', '-rt']).stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
    const want = Object.entries(expected).flatMap(([type, users]) => Object.entries(users).map(([d, p]) => `allow ${d} ${type}:packet ${p.includes(' ') ? `{ ${p} }` : p};`)).sort();
    t.check('sesearch-lists-only-the-module-rules', JSON.stringify(rules) === JSON.stringify(want), { expected: want, got: rules });
  });

  // A module that leaks A's label: to smc_c_t directly (send only), and to every holder of
  // client_packet_type by putting the type in that attribute.
  t.writeFile('smc_leak.cil', `(allow smc_c_t ${A_CLIENT} (packet (send)))\n(typeattributeset client_packet_type (${A_CLIENT}))\n`);
  await t.phase('leak-module', () => t.run(['semodule', '-i', '/tmp/smc_leak.cil']));
  await t.phase('leak', async () => {
    const r = t.secmarkc(['check', '--json', '/tmp/policy.yaml'], { allowFail: true });
    const audit = JSON.parse(r.stdout || '{}').audit;
    const leaks = audit?.types.find((x) => x.type === A_CLIENT)?.leaks ?? [];
    const direct = leaks.find((l) => l.rule.startsWith(`allow smc_c_t ${A_CLIENT}:packet send`));
    const viaAttribute = leaks.find((l) => l.rule.startsWith('allow user_t client_packet_type:packet'));
    t.check('check-names-leaks', r.code === 2 && direct?.domains.join() === 'smc_c_t' && viaAttribute?.domains.includes('user_t') === true && /SMC060.*it is in attribute client_packet_type/.test(r.stderr), {
      expected: 'exit 2; smc_c_t by its rule; user_t through client_packet_type; SMC060 naming the attribute on stderr',
      got: `exit ${r.code}; ${leaks.map((l) => l.rule).join(' | ').slice(0, 400)}; ${r.stderr.slice(0, 300)}`,
    });

    const before = t.run(['nft', '-s', 'list', 'table', 'inet', 'secmarkc']).stdout; // -s: without counters
    const refused = t.secmarkc(['apply', '/tmp/policy.yaml'], { allowFail: true });
    const after = t.run(['nft', '-s', 'list', 'table', 'inet', 'secmarkc']).stdout;
    t.check('apply-refuses-leak', refused.code === 2 && /SMC060/.test(refused.stderr) && /not exclusive/.test(refused.stderr) && before === after, {
      expected: 'exit 2, SMC060, table unchanged',
      got: `exit ${refused.code}, table ${before === after ? 'unchanged' : 'CHANGED'}: ${refused.stderr.slice(0, 400)}`,
    });

    // The leak is real: user_t now reaches the proxy on A's label (so the refusals above were
    // the label's doing), and smc_c_t sends but cannot receive the reply (conntrack restore).
    const mark = t.kmsg.read();
    verdict(t, 'leaked-label-lets-user_t-in', await t.contextClient('user_u:user_r:user_t:s0', PEER4, 3128), 'ok', mark);
    await t.expect('c-reply-refused-at-recv', [{ id: 'tcp4', proto: 'tcp', host: PEER4, port: 3128, expect: 'timeout', avc: deniedPacket('recv', 'smc_c_t', A_CLIENT) }], { domain: 'smc_c_t' });

    const shared = t.secmarkc(['apply', '--allow-shared-labels', '/tmp/policy.yaml'], { allowFail: true });
    t.check('apply-allow-shared-labels', shared.code === 0 && /SMC060/.test(shared.stderr), { expected: 'exit 0 with SMC060 printed', got: `exit ${shared.code}: ${shared.stderr.slice(0, 300)}` });
  });
}
