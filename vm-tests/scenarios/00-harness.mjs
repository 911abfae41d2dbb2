// The harness itself, before any secmarkc policy: the guest enforces, every test domain can be
// entered and runs node, and a peer namespace answers TCP and UDP over IPv4 and IPv6 (no secmark
// object is loaded yet, so packet checks are still off).
import { readFileSync } from 'node:fs';
import { NODE } from '../guest/lib.mjs';

export const meta = { boot: 'connect', budgetSec: 120, title: 'guest enforces, test domains run node, veth peer answers' };

export async function run(t) {
  const enforce = readFileSync('/sys/fs/selinux/enforce', 'utf8').trim();
  t.check('selinux-enforcing', enforce === '1', { expected: '1', got: enforce });
  const self = readFileSync('/proc/self/attr/current', 'utf8').replace(/\0/g, '');
  t.check('driver-domain', self.includes(':unconfined_t:'), { expected: 'unconfined_t', got: self });

  for (const domain of ['smc_a_t', 'smc_b_t', 'smc_c_t', 'smc_server_t', 'smc_other_t']) {
    const r = await t.phase(`node-in-${domain}`, () =>
      t.run(t.wrap([NODE, '-e', "process.stdout.write(require('fs').readFileSync('/proc/self/attr/current','utf8'))"], { domain }), { allowFail: true }),
    );
    t.check(`runcon-node:${domain}`, r.code === 0 && r.stdout.includes(`:${domain}:`), { expected: `context with ${domain}`, got: `exit ${r.code} ${r.stdout}${r.stderr}`.slice(0, 300) });
  }

  t.netns('peer', [['192.0.2.1/24', '192.0.2.10/24'], ['2001:db8::1/64', '2001:db8::10/64']]);
  await t.phase('server-start', () => t.server([{ proto: 'tcp', host: '0.0.0.0', port: 3128 }, { proto: 'tcp', host: '::', port: 3128 }, { proto: 'udp', host: '0.0.0.0', port: 5353 }, { proto: 'udp', host: '::', port: 5353 }], { ns: 'peer' }));
  await t.phase('probe', () =>
    t.expect('no-secmark', [
      { id: 'tcp4', proto: 'tcp', host: '192.0.2.10', port: 3128, expect: 'ok' },
      { id: 'tcp6', proto: 'tcp', host: '2001:db8::10', port: 3128, expect: 'ok' },
      { id: 'udp4', proto: 'udp', host: '192.0.2.10', port: 5353, expect: 'ok' },
      { id: 'udp6', proto: 'udp', host: '2001:db8::10', port: 5353, expect: 'ok' },
      { id: 'closed-port', proto: 'tcp', host: '192.0.2.10', port: 9, expect: 'refused' },
    ], { domain: 'smc_b_t' }),
  );
}
