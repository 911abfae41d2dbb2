// Inbound only from a prefix: smc_server_t may receive on tcp/8080 and udp/8053 from
// 198.51.100.0/24 and 2001:db8:1::/64 only; smc_other_t serves tcp/9090 to 192.0.2.0/24 only.
// Neither receives on the other's port, nor from outside its prefix (those packets stay
// unlabeled, and unlabeled is deny).
import { deniedPacket } from '../guest/lib.mjs';
import { HOST4, HOST4B, HOST6, HOST6B, PEER4, PEER4B, PEER6, PEER6B, listeners, peerNetwork, policy } from '../guest/fixtures.mjs';

export const meta = { boot: 'connect', budgetSec: 240, needs: ['apply'], title: 'serve from a prefix only; another domain on another port cannot' };

export async function run(t) {
  peerNetwork(t);
  await t.apply(
    'inbound',
    policy({
      srvServe: [{ ports: ['tcp/8080', 'udp/8053'], from: ['198.51.100.0/24', '2001:db8:1::/64'] }],
      otherServe: [{ ports: ['tcp/9090'], from: ['192.0.2.0/24'] }],
    }),
  );
  await t.server(listeners([8080], [8053]), { domain: 'smc_server_t' });
  await t.server(listeners([9090, 9091]), { domain: 'smc_other_t' });

  const inPrefix = [
    { id: 'tcp4', proto: 'tcp', host: HOST4B, port: 8080, from: PEER4B },
    { id: 'udp4', proto: 'udp', host: HOST4B, port: 8053, from: PEER4B },
    { id: 'tcp6', proto: 'tcp', host: HOST6B, port: 8080, from: PEER6B },
    { id: 'udp6', proto: 'udp', host: HOST6B, port: 8053, from: PEER6B },
  ];
  const outside = [
    { id: 'tcp4', proto: 'tcp', host: HOST4, port: 8080, from: PEER4 },
    { id: 'udp4', proto: 'udp', host: HOST4, port: 8053, from: PEER4 },
    { id: 'tcp6', proto: 'tcp', host: HOST6, port: 8080, from: PEER6 },
    { id: 'udp6', proto: 'udp', host: HOST6, port: 8053, from: PEER6 },
  ];
  const unlabeledRecv = (domain) => deniedPacket('recv', domain, 'unlabeled_t');
  await t.phase('server', async () => {
    await t.expect('server-from-prefix', inPrefix.map((p) => ({ ...p, expect: 'ok' })), { ns: 'peer' });
    await t.expect('server-from-elsewhere', outside.map((p) => ({ ...p, expect: 'timeout', avc: unlabeledRecv('smc_server_t') })), { ns: 'peer' });
  });
  await t.phase('other', async () => {
    await t.expect('other-own-port', [{ id: 'tcp4', proto: 'tcp', host: HOST4, port: 9090, from: PEER4, expect: 'ok' }], { ns: 'peer' });
    await t.expect('other-own-port-wrong-prefix', [{ id: 'tcp4', proto: 'tcp', host: HOST4B, port: 9090, from: PEER4B, expect: 'timeout', avc: unlabeledRecv('smc_other_t') }], { ns: 'peer' });
    await t.expect('other-port-not-in-policy', [{ id: 'tcp4', proto: 'tcp', host: HOST4B, port: 9091, from: PEER4B, expect: 'timeout', avc: unlabeledRecv('smc_other_t') }], { ns: 'peer' });
  });
}
