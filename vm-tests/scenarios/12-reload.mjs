// `systemctl reload secmarkc` under traffic (same boot as 11-boot): while smc_a_t connects to
// the proxy's tcp/3128 in a loop, the policy file alternates between P2 (3129 only) and P1 (3128)
// and the unit is reloaded: every attempt is ok (P1) or refused (P2), never anything else, and
// both are seen. Then a reload with an invalid policy fails, the unit stays active, and `keep`
// leaves P1 (the last good, live already: no batch) in force.
import { P1, P2, listeners, peerNetwork } from '../guest/fixtures.mjs';
import { connectWhile, expectLive } from '../guest/swap-loop.mjs';
import { INVALID, journal, unitProps, writePolicy } from '../guest/systemd.mjs';

export const meta = { boot: 'systemd-valid', init: 'systemd', budgetSec: 360, needs: ['apply', 'install-unit'], title: 'systemctl reload under traffic is atomic; invalid reload keeps the last good' };

const RELOADS = 6;

export async function run(t) {
  peerNetwork(t);
  await t.server(listeners([3128, 3129]), { ns: 'peer' });
  await expectLive(t, 'boot-policy', 'P1');

  await connectWhile(t, {
    name: 'reloads',
    times: RELOADS,
    stepsCheck: 'all-reloads-ok',
    step: (i) => {
      writePolicy(i % 2 === 0 ? P2 : P1);
      return t.runAsync(['systemctl', 'reload', 'secmarkc.service'], { allowFail: true });
    },
  });
  await expectLive(t, 'after-reloads-p1', 'P1');

  writePolicy(INVALID);
  const bad = t.run(['systemctl', 'reload', 'secmarkc.service'], { allowFail: true });
  const unit = unitProps(t, 'secmarkc.service', ['ActiveState']);
  const log = journal(t, 'secmarkc.service');
  t.check('invalid-reload-fails', bad.code !== 0, { expected: 'systemctl reload exits non-zero', got: `exit ${bad.code}` });
  t.check('invalid-reload-unit-stays-active', unit.ActiveState === 'active', { expected: 'active', got: unit.ActiveState });
  // The last good policy (P1) is live: keep sends no batch and says so.
  t.check('invalid-reload-journal', /SMC031/.test(log) && /the last good policy, compiled from \/etc\/secmarkc\/policy\.yaml .* is live already: left as it is/.test(log), { expected: 'journal: SMC031 and "the last good policy ... is live already: left as it is"', got: log.trim().split('\n').slice(-3).join(' | ').slice(0, 400) });
  await expectLive(t, 'after-invalid-reload-still-p1', 'P1');
  writePolicy(P1);
}
