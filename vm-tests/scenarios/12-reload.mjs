// `systemctl reload secmarkc` under traffic (same boot as 11-boot): while smc_a_t connects to
// the proxy's tcp/3128 in a loop, the policy file alternates between P2 (3129 only) and P1 (3128)
// and the unit is reloaded: every attempt is ok (P1) or refused (P2), never anything else, and
// both are seen. Then a reload with an invalid policy fails, the unit stays active, and `keep`
// leaves P1 (the last good, live already: no batch) in force.
import { writeFileSync } from 'node:fs';
import { P1, P2, PEER4, listeners, peerNetwork } from '../guest/fixtures.mjs';
import { INVALID, journal, unitProps, writePolicy } from '../guest/systemd.mjs';

export const meta = { boot: 'systemd-valid', init: 'systemd', budgetSec: 360, needs: ['apply', 'install-unit'], title: 'systemctl reload under traffic is atomic; invalid reload keeps the last good' };

const RELOADS = 6;
const probes = (p3128, p3129) => [
  { id: 'tcp3128', proto: 'tcp', host: PEER4, port: 3128, expect: p3128 },
  { id: 'tcp3129', proto: 'tcp', host: PEER4, port: 3129, expect: p3129 },
];

export async function run(t) {
  peerNetwork(t);
  await t.server(listeners([3128, 3129]), { ns: 'peer' });
  await t.expect('boot-policy', probes('ok', 'refused'), { domain: 'smc_a_t' });

  const stop = '/tmp/reload-stop';
  const loop = t.probe([{ id: 'loop', proto: 'tcp', host: PEER4, port: 3128, timeoutMs: 5000, untilFile: stop, intervalMs: 100 }], { domain: 'smc_a_t' });
  const reloads = [];
  await t.phase(`${RELOADS}-reloads`, async () => {
    for (let i = 0; i < RELOADS; i++) {
      writePolicy(i % 2 === 0 ? P2 : P1);
      const t0 = Date.now();
      const r = await t.runAsync(['systemctl', 'reload', 'secmarkc.service'], { allowFail: true });
      reloads.push({ code: r.code, ms: Date.now() - t0, err: r.stderr.trim().split('\n')[0] });
    }
    writeFileSync(stop, '');
  });
  const results = Object.values(await loop).filter((r) => r.id.includes('#'));
  const failed = reloads.filter((r) => r.code !== 0);
  t.check('all-reloads-ok', failed.length === 0, { expected: `${RELOADS} reloads exit 0`, got: failed.length ? `${failed.length} failed, first: ${failed[0].err}` : `all ok, ${reloads.map((r) => r.ms).join('/')} ms` });
  const tally = {};
  for (const r of results) tally[r.outcome] = (tally[r.outcome] ?? 0) + 1;
  const odd = results.filter((r) => r.outcome !== 'ok' && r.outcome !== 'refused');
  t.check('every-attempt-old-or-new', results.length > 0 && odd.length === 0, { expected: 'only ok (P1) or refused (P2)', got: `${JSON.stringify(tally)}${odd.length ? `; first other: ${JSON.stringify(odd[0])}` : ''}` });
  t.check('both-verdicts-seen', (tally.ok ?? 0) > 0 && (tally.refused ?? 0) > 0, { expected: 'ok and refused both seen while reloading', got: JSON.stringify(tally) });
  await t.expect('after-reloads-p1', probes('ok', 'refused'), { domain: 'smc_a_t' });

  writePolicy(INVALID);
  const bad = t.run(['systemctl', 'reload', 'secmarkc.service'], { allowFail: true });
  const unit = unitProps(t, 'secmarkc.service', ['ActiveState']);
  const log = journal(t, 'secmarkc.service');
  t.check('invalid-reload-fails', bad.code !== 0, { expected: 'systemctl reload exits non-zero', got: `exit ${bad.code}` });
  t.check('invalid-reload-unit-stays-active', unit.ActiveState === 'active', { expected: 'active', got: unit.ActiveState });
  // The last good policy (P1) is live: keep sends no batch and says so.
  t.check('invalid-reload-journal', /SMC031/.test(log) && /the last good policy, compiled from \/etc\/secmarkc\/policy\.yaml .* is live already: left as it is/.test(log), { expected: 'journal: SMC031 and "the last good policy ... is live already: left as it is"', got: log.trim().split('\n').slice(-3).join(' | ').slice(0, 400) });
  await t.expect('after-invalid-reload-still-p1', probes('ok', 'refused'), { domain: 'smc_a_t' });
  writePolicy(P1);
}
