// smc_a_t's connections while the ruleset switches between P1 and P2 (guest/fixtures.mjs):
// 04-swap switches with `apply`, 12-reload with `systemctl reload`, 13-rollback with
// `apply --rollback`. The two differ only in the peer port smc_a_t may reach, so a verdict
// names the policy that gave it.
import { rmSync, writeFileSync } from 'node:fs';
import { PEER4 } from './fixtures.mjs';

const VERDICTS = {
  P1: { 3128: 'ok', 3129: 'refused' },
  P2: { 3128: 'refused', 3129: 'ok' },
};

/** smc_a_t to the peer's tcp/3128 and tcp/3129, checked (`TITLE:tcp3128`, `TITLE:tcp3129`) against policy 'P1' or 'P2'. */
export function expectLive(t, title, which) {
  const verdicts = VERDICTS[which];
  if (!verdicts) throw new Error(`expectLive: ${which} is neither P1 nor P2`);
  const items = [3128, 3129].map((port) => ({ id: `tcp${port}`, proto: 'tcp', host: PEER4, port, expect: verdicts[port] }));
  return t.expect(title, items, { domain: 'smc_a_t' });
}

/**
 * Runs `step(i)` for i < `times`, one after another (each resolves {code, stderr}), while smc_a_t
 * connects to the peer's tcp/3128 attempt after attempt, and checks:
 * - `stepsCheck`: every step exited 0;
 * - `every-attempt-old-or-new`: each attempt was ok (P1) or refused (P2), never a timeout or an
 *   error, which a half-loaded ruleset would give;
 * - `both-verdicts-seen`: both happened, so the attempts overlapped the switches.
 * `name` ("swaps") names the phase (`10-swaps`) and the details.
 */
export async function connectWhile(t, { name, times, step, stepsCheck }) {
  // Left over from an earlier run, the file would end the loop after its first attempt.
  const stop = `/tmp/${t.name}-loop-stop`;
  rmSync(stop, { force: true });
  const loop = t.probe([{ id: 'loop', proto: 'tcp', host: PEER4, port: 3128, timeoutMs: 5000, untilFile: stop, intervalMs: 100 }], { domain: 'smc_a_t' });
  const steps = [];
  await t.phase(`${times}-${name}`, async () => {
    try {
      for (let i = 0; i < times; i++) {
        const t0 = Date.now();
        const r = await step(i);
        steps.push({ code: r.code, ms: Date.now() - t0, err: r.stderr.trim().split('\n')[0] });
      }
    } finally {
      writeFileSync(stop, ''); // a step that throws must still end the loop
    }
  });
  // probe.mjs reports the attempts as loop#0, loop#1, ...; t.probe adds an entry `loop` of its
  // own (no line with that id), which says how the probe exited.
  const reported = await loop;
  const attempts = Object.values(reported).filter((r) => r.id.includes('#'));

  const failed = steps.filter((s) => s.code !== 0);
  t.check(stepsCheck, failed.length === 0, {
    expected: `${times} ${name} exit 0`,
    got: failed.length ? `${failed.length} failed, first: exit ${failed[0].code}: ${failed[0].err}` : `all ok, ${steps.map((s) => s.ms).join('/')} ms`,
  });
  const tally = {};
  for (const a of attempts) tally[a.outcome] = (tally[a.outcome] ?? 0) + 1;
  const odd = attempts.filter((a) => a.outcome !== 'ok' && a.outcome !== 'refused');
  t.check('every-attempt-old-or-new', attempts.length > 0 && odd.length === 0, {
    expected: 'only ok (P1) or refused (P2)',
    got: attempts.length === 0 ? `no attempt reported: ${reported.loop.code}` : `${JSON.stringify(tally)}${odd.length ? `; first other: ${JSON.stringify(odd[0])}` : ''}`,
  });
  t.check('both-verdicts-seen', (tally.ok ?? 0) > 0 && (tally.refused ?? 0) > 0, { expected: `ok and refused both seen during the ${name}`, got: JSON.stringify(tally) });
}
