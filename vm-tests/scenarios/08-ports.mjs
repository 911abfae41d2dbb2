// `ports: policy`: the loaded policy's port labels apply in our table. tcp/80 is http_port_t, so
// a new outbound connection to port 80 carries http_client_packet_t: A (granted it by the image)
// gets through, B is refused at send. A port no portcon names gets client_packet_t (the same).
// An app rule for B on tcp/80 to the peer wins over the port label: now B gets through and A is
// refused. Inbound tcp/80 carries http_server_packet_t: smc_server_t serves it, smc_other_t
// gets nothing. `secmarkc ports --json` shows the table used.
import { deniedPacket } from '../guest/lib.mjs';
import { allowLowPorts, HOST4, HOST6, PEER4, PEER6, UNNAMED_PORT, listeners, peerNetwork, policy } from '../guest/fixtures.mjs';

export const meta = { boot: 'ports', budgetSec: 720, needs: ['apply', 'ports'], title: 'ports: policy — port labels, defaults, app rule wins, inbound server type' };

const probe = (id, host, port, expect, avc) => ({ id, proto: 'tcp', host, port, expect, ...(avc ? { avc } : {}) });

export async function run(t) {
  peerNetwork(t);
  allowLowPorts(t);
  await t.server(listeners([80, UNNAMED_PORT]), { ns: 'peer' });

  const ports = t.secmarkc(['ports', '--json'], { allowFail: true });
  let http;
  try {
    http = JSON.parse(ports.stdout).labels.find((l) => l.protocol === 'tcp' && l.from <= 80 && 80 <= l.to);
  } catch {
    http = undefined;
  }
  t.check('ports-json-tcp-80', ports.code === 0 && http?.portType === 'http_port_t' && http.client === 'http_client_packet_t' && http.server === 'http_server_packet_t', {
    expected: 'tcp 80 http_port_t → http_client_packet_t / http_server_packet_t',
    got: http ?? `exit ${ports.code} ${ports.stderr.slice(0, 300)}`,
  });

  await t.apply('ports', policy({ ports: 'policy' }));
  await t.phase('port-label', async () => {
    await t.expect('http-port-a', [probe('tcp4', PEER4, 80, 'ok'), probe('tcp6', PEER6, 80, 'ok')], { domain: 'smc_a_t' });
    await t.expect('http-port-b', [probe('tcp4', PEER4, 80, 'refused', deniedPacket('send', 'smc_b_t', 'http_client_packet_t'))], { domain: 'smc_b_t' });
  });
  await t.phase('default-label', async () => {
    await t.expect('unnamed-port-a', [probe('tcp4', PEER4, UNNAMED_PORT, 'ok')], { domain: 'smc_a_t' });
    await t.expect('unnamed-port-b', [probe('tcp4', PEER4, UNNAMED_PORT, 'refused', deniedPacket('send', 'smc_b_t', 'client_packet_t'))], { domain: 'smc_b_t' });
  });

  await t.apply('ports-b80', policy({ ports: 'policy', bConnect: [{ to: [PEER4], ports: ['tcp/80'] }] }), { args: ['--no-module'] });
  await t.phase('app-rule-wins', async () => {
    await t.expect('app-rule-b', [probe('tcp4', PEER4, 80, 'ok')], { domain: 'smc_b_t' });
    await t.expect('app-rule-a', [probe('tcp4', PEER4, 80, 'refused', deniedPacket('send', 'smc_a_t', 'secmarkc_b_client_packet_t'))], { domain: 'smc_a_t' });
    // Only that peer: port 80 elsewhere still carries the port label.
    await t.expect('app-rule-a-v6', [probe('tcp6', PEER6, 80, 'ok')], { domain: 'smc_a_t' });
  });

  const server = await t.server(listeners([80]), { domain: 'smc_server_t' });
  await t.phase('inbound', () => t.expect('inbound-http-server', [probe('tcp4', HOST4, 80, 'ok'), probe('tcp6', HOST6, 80, 'ok')], { ns: 'peer' }));
  server.child.kill('SIGKILL');
  await new Promise((r) => server.child.once('exit', r));
  await t.server(listeners([80]), { domain: 'smc_other_t' });
  await t.phase('inbound-wrong-domain', () =>
    t.expect('inbound-other-domain', [probe('tcp4', HOST4, 80, 'timeout', deniedPacket('recv', 'smc_other_t', 'http_server_packet_t'))], { ns: 'peer' }),
  );
}
