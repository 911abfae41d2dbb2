// Atomic swap under load. Two policies with the same module (so no semodule in between) give
// smc_a_t tcp/3128 (P1) or tcp/3129 (P2) on the proxy. While A connects to 3128 in a loop,
// `secmarkc apply` alternates between them: every attempt must be either P1's verdict (ok) or
// P2's (refused at send) — never a hang or an error from a half-loaded ruleset. Then a batch the
// kernel refuses (a context level the loaded policy does not know) must leave P1 enforcing.
import { writeFileSync } from 'node:fs';
import { P1, P2, PEER4, listeners, peerNetwork, policy } from '../guest/fixtures.mjs';

export const meta = { boot: 'apply', budgetSec: 420, needs: ['apply'], title: 'apply swaps atomically under load; a refused batch keeps the old policy' };

const SWAPS = 10;
const probes = (outcome3128, outcome3129) => [
  { id: 'tcp3128', proto: 'tcp', host: PEER4, port: 3128, expect: outcome3128 },
  { id: 'tcp3129', proto: 'tcp', host: PEER4, port: 3129, expect: outcome3129 },
];

export async function run(t) {
  peerNetwork(t);
  await t.server(listeners([3128, 3129]), { ns: 'peer' });
  await t.apply('swap-p1', P1);
  await t.expect('p1', probes('ok', 'refused'), { domain: 'smc_a_t' });
  const stamp = t.moduleStamp('secmarkc');
  await t.apply('swap-p2', P2);
  await t.expect('p2', probes('refused', 'ok'), { domain: 'smc_a_t' });
  const restamp = t.moduleStamp('secmarkc');
  t.check('unchanged-module-not-reinstalled', stamp !== null && restamp === stamp, {
    expected: 'P2 has the same CIL as P1: apply leaves the module alone',
    got: stamp === null ? 'no module secmarkc in the store' : restamp === stamp ? 'kept' : 'semodule reinstalled it',
  });

  const stop = '/tmp/swap-stop';
  const loop = t.probe([{ id: 'loop', proto: 'tcp', host: PEER4, port: 3128, timeoutMs: 5000, untilFile: stop, intervalMs: 100 }], { domain: 'smc_a_t' });
  const applies = [];
  await t.phase(`${SWAPS}-swaps`, async () => {
    for (let i = 0; i < SWAPS; i++) {
      const t0 = Date.now();
      // --no-module: the loop is about the nft batch; the module is the same and installed.
      const r = await t.apply(`swap-${i % 2 ? 'p2' : 'p1'}`, i % 2 ? P2 : P1, { async: true, allowFail: true, args: ['--no-module'] });
      applies.push({ code: r.code, ms: Date.now() - t0, err: r.stderr.trim().split('\n')[0] });
    }
    writeFileSync(stop, '');
  });
  const results = Object.values(await loop).filter((r) => r.id.includes('#'));
  const failedApplies = applies.filter((a) => a.code !== 0);
  t.check('all-swaps-applied', failedApplies.length === 0, { expected: `${SWAPS} applies exit 0`, got: failedApplies.length ? `${failedApplies.length} failed, first: ${failedApplies[0].err}` : `all ok, ${applies.map((a) => a.ms).join('/')} ms` });
  const tally = {};
  for (const r of results) tally[r.outcome] = (tally[r.outcome] ?? 0) + 1;
  const odd = results.filter((r) => r.outcome !== 'ok' && r.outcome !== 'refused');
  t.check('every-attempt-old-or-new', results.length > 0 && odd.length === 0, { expected: 'only ok (P1) or refused (P2)', got: `${JSON.stringify(tally)}${odd.length ? `; first other: ${JSON.stringify(odd[0])}` : ''}` });
  t.check('both-verdicts-seen', (tally.ok ?? 0) > 0 && (tally.refused ?? 0) > 0, { expected: 'ok and refused both seen while swapping', got: JSON.stringify(tally) });

  // A batch the kernel refuses: the secmark contexts name level s1, which Debian's MCS policy lacks.
  await t.apply('swap-p1-again', P1);
  const before = t.run(['nft', '-s', 'list', 'table', 'inet', 'secmarkc']).stdout;
  const bad = await t.apply('swap-bad', policy({ level: 's1', aConnect: [{ to: [PEER4], ports: ['tcp/3129'] }] }), { allowFail: true });
  t.check('refused-batch-fails', bad.code !== 0, { expected: 'apply exits non-zero', got: `exit ${bad.code}: ${(bad.stderr + bad.stdout).trim().slice(0, 300)}` });
  const after = t.run(['nft', '-s', 'list', 'table', 'inet', 'secmarkc']).stdout;
  t.check('refused-batch-keeps-table', after === before, { expected: 'nft list table unchanged', got: after === before ? 'unchanged' : after.slice(0, 300) });
  await t.expect('after-refused-batch', probes('ok', 'refused'), { domain: 'smc_a_t' });
}
