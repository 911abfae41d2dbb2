// The three `unlabeled` modes, with the same apps: what happens to traffic no rule labels
// (B to the peer's tcp/80, the peer to smc_other_t's tcp/9091) while A still reaches the proxy.
//   allow: works, nothing logged; audit: works and logs `avc: granted`; deny: refused, `avc: denied`.
// Each mode changes the CIL module, so each apply runs semodule (~30 s under TCG). Runs last in
// its boot and ends in `deny`, the skeleton's mode, so nothing after it reinstalls the module.
import { deniedPacket, grantedPacket } from '../guest/lib.mjs';
import { HOST4, PEER4, listeners, peerNetwork, policy } from '../guest/fixtures.mjs';

export const meta = { boot: 'apply', budgetSec: 720, needs: ['apply'], title: 'unlabeled: allow keeps other traffic, audit logs granted, deny refuses' };

const unrelated = { id: 'b-to-peer-tcp80', proto: 'tcp', host: PEER4, port: 80 };
const inbound = { id: 'peer-to-other-tcp9091', proto: 'tcp', host: HOST4, port: 9091 };
const proxy = { id: 'a-to-proxy', proto: 'tcp', host: PEER4, port: 3128, expect: 'ok' };

export async function run(t) {
  peerNetwork(t);
  await t.server(listeners([80, 3128]), { ns: 'peer' });
  await t.server(listeners([9091]), { domain: 'smc_other_t' });

  for (const mode of ['allow', 'audit', 'deny']) {
    await t.apply(`unlabeled-${mode}`, policy({ unlabeled: mode }));
    await t.phase(mode, async () => {
      const mark = t.kmsg.read();
      await t.expect(`${mode}-labelled`, [proxy], { domain: 'smc_a_t' });
      if (mode === 'deny') {
        await t.expect(`${mode}-unlabeled-out`, [{ ...unrelated, expect: 'refused', avc: deniedPacket('send', 'smc_b_t', 'unlabeled_t') }], { domain: 'smc_b_t' });
        await t.expect(`${mode}-unlabeled-in`, [{ ...inbound, expect: 'timeout', avc: deniedPacket('recv', 'smc_other_t', 'unlabeled_t') }], { ns: 'peer' });
        return;
      }
      await t.expect(`${mode}-unlabeled-out`, [{ ...unrelated, expect: 'ok' }], { domain: 'smc_b_t' });
      await t.expect(`${mode}-unlabeled-in`, [{ ...inbound, expect: 'ok' }], { ns: 'peer' });
      const kernel = t.kernelSince(mark);
      const denied = kernel.filter((l) => /avc:\s+denied/.test(l) && /tclass=packet/.test(l));
      t.check(`${mode}-no-denials`, denied.length === 0, { expected: 'no packet denials', got: denied[0] ?? 'none' });
      const granted = ['send', 'recv'].map((perm) => kernel.find((l) => grantedPacket(perm, 'smc_b_t', 'unlabeled_t').test(l)));
      if (mode === 'audit') {
        t.check('audit-logs-granted', granted.every(Boolean), { expected: 'avc: granted { send } and { recv } for smc_b_t on unlabeled_t', got: granted.map((g) => g ?? 'missing').join(' | ').slice(0, 400) });
      } else {
        t.check('allow-logs-nothing', !granted.some(Boolean), { expected: 'no avc: granted lines', got: granted.find(Boolean) ?? 'none' });
      }
    });
  }
}
