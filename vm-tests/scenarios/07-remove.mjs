// `secmarkc remove --module` restores the state from before `apply`: the same nft ruleset, the
// same installed modules, and packet checks off again (B reaches the proxy once more).
// Its own boot, so that "before" is a guest where secmarkc never ran.
import { deniedPacket } from '../guest/lib.mjs';
import { PEER4, listeners, peerNetwork, policy } from '../guest/fixtures.mjs';

export const meta = { boot: 'remove', budgetSec: 480, needs: ['apply', 'remove'], title: 'remove --module restores the prior state' };

export async function run(t) {
  // No relabelling table in the peer: its secmark object would keep packet checks on, and "off
  // again" is what this scenario proves. Only B connects, and B never reaches the peer labelled.
  peerNetwork(t, { relabel: false });
  await t.server(listeners([3128]), { ns: 'peer' });
  const b = (expect, avc) => [{ id: 'b-to-proxy', proto: 'tcp', host: PEER4, port: 3128, expect, ...(avc ? { avc } : {}) }];
  const prior = { ruleset: t.run(['nft', 'list', 'ruleset']).stdout, modules: t.installedModules() };
  await t.expect('before-apply', b('ok'), { domain: 'smc_b_t' });

  await t.apply('remove', policy());
  await t.expect('applied', b('refused', deniedPacket('send', 'smc_b_t', 'secmarkc_a_client_packet_t')), { domain: 'smc_b_t' });
  const added = t.installedModules().filter((m) => !prior.modules.includes(m));
  t.check('module-installed', added.length === 1, { expected: 'one new module', got: added.join(',') || 'none' });

  const r = await t.phase('remove-module', () => t.secmarkc(['remove', '--module'], { allowFail: true }));
  t.check('remove-exit', r.code === 0, { expected: 'exit 0', got: `exit ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 300)}` });
  const ruleset = t.run(['nft', 'list', 'ruleset']).stdout;
  t.check('ruleset-restored', ruleset === prior.ruleset, { expected: prior.ruleset.trim() || '(empty ruleset)', got: ruleset.trim().slice(0, 300) || '(empty ruleset)' });
  const modules = t.installedModules();
  t.check('modules-restored', modules.join(',') === prior.modules.join(','), { expected: prior.modules.join(',') || 'none', got: modules.join(',') || 'none' });
  await t.expect('after-remove', b('ok'), { domain: 'smc_b_t' });
}
