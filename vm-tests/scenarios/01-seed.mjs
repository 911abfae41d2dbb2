// The seed case: only domain A may reach the proxy (192.0.2.10, tcp/3128, in a peer namespace).
// B's SYN is labelled as A's client packets and refused at `send`. (The half-allowed client C,
// refused at `recv` on the reply, needs a module that grants it A's label: 16-exclusive.)
import { deniedPacket } from '../guest/lib.mjs';
import { PEER4, PEER6, listeners, peerNetwork, policy } from '../guest/fixtures.mjs';

export const meta = { boot: 'connect', budgetSec: 420, needs: ['apply'], title: 'only A reaches the proxy; B refused at send' };

export async function run(t) {
  peerNetwork(t);
  await t.server(listeners([3128]), { ns: 'peer' });
  await t.apply('seed', policy(), { audit: true });

  const proxy = [
    { id: 'tcp4', proto: 'tcp', host: PEER4, port: 3128 },
    { id: 'tcp6', proto: 'tcp', host: PEER6, port: 3128 },
  ];
  await t.phase('a', () => t.expect('a-allowed', proxy.map((p) => ({ ...p, expect: 'ok' })), { domain: 'smc_a_t' }));
  await t.phase('b', () =>
    t.expect('b-refused-at-send', proxy.map((p) => ({ ...p, expect: 'refused', avc: deniedPacket('send', 'smc_b_t', 'secmarkc_a_client_packet_t') })), { domain: 'smc_b_t' }),
  );
}
