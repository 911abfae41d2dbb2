// A server domain on its ports (tcp/8080, udp/8053), over loopback and over a veth, IPv4 and
// IPv6. Over loopback the input rule relabels the connection as the server's, so the local
// client shares the app (srv: smc_server_t and smc_a_t) and B, outside it, is refused at send.
// From the peer namespace any client reaches the server; the same listener run in smc_other_t
// gets nothing (recv denied on srv_server packets).
import { deniedPacket } from '../guest/lib.mjs';
import { HOST4, HOST6, listeners, peerNetwork, policy } from '../guest/fixtures.mjs';

export const meta = { boot: 'connect', budgetSec: 240, needs: ['apply'], title: 'server domain on tcp/8080 udp/8053: good/bad clients, loopback and veth' };

const to = (hosts) =>
  hosts.flatMap(([tag, host]) => [
    { id: `tcp-${tag}`, proto: 'tcp', host, port: 8080 },
    { id: `udp-${tag}`, proto: 'udp', host, port: 8053 },
  ]);
const loopback = to([['lo4', '127.0.0.1'], ['lo6', '::1']]);
const veth = to([['veth4', HOST4], ['veth6', HOST6]]);
const expect = (items, outcome, avc) => items.map((p) => ({ ...p, expect: outcome, ...(avc ? { avc } : {}) }));

export async function run(t) {
  peerNetwork(t);
  await t.apply('server', policy());
  const server = await t.server(listeners([8080], [8053]), { domain: 'smc_server_t' });

  await t.phase('loopback', async () => {
    await t.expect('loopback-app-client', expect(loopback, 'ok'), { domain: 'smc_a_t' });
    await t.expect('loopback-other-client', expect(loopback, 'refused', deniedPacket('send', 'smc_b_t', 'secmarkc_srv_client_packet_t')), { domain: 'smc_b_t' });
  });
  await t.phase('veth', () => t.expect('veth-client', expect(veth, 'ok'), { ns: 'peer' }));

  server.child.kill('SIGKILL');
  await new Promise((r) => server.child.once('exit', r));
  await t.server(listeners([8080], [8053]), { domain: 'smc_other_t' });
  await t.phase('wrong-server-domain', async () => {
    await t.expect('veth-to-wrong-domain', expect(veth, 'timeout', deniedPacket('recv', 'smc_other_t', 'secmarkc_srv_server_packet_t')), { ns: 'peer' });
    await t.expect('loopback-to-wrong-domain', expect(loopback, 'timeout', deniedPacket('recv', 'smc_other_t', 'secmarkc_srv_server_packet_t')), { domain: 'smc_a_t' });
  });
}
