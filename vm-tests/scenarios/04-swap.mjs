// Atomic swap under load. Two policies with the same module (so no semodule in between) give
// smc_a_t tcp/3128 (P1) or tcp/3129 (P2) on the proxy. While A connects to 3128 in a loop,
// `secmarkc apply` alternates between them: every attempt must be either P1's verdict (ok) or
// P2's (refused at send) — never a hang or an error from a half-loaded ruleset. Then a batch the
// kernel refuses (a context level the loaded policy does not know) must leave P1 enforcing.
import { P1, P2, PEER4, listeners, peerNetwork, policy } from '../guest/fixtures.mjs';
import { connectWhile, expectLive } from '../guest/swap-loop.mjs';

export const meta = { boot: 'apply', budgetSec: 420, needs: ['apply'], title: 'apply swaps atomically under load; a refused batch keeps the old policy' };

const SWAPS = 10;

export async function run(t) {
  peerNetwork(t);
  await t.server(listeners([3128, 3129]), { ns: 'peer' });
  await t.apply('swap-p1', P1);
  await expectLive(t, 'p1', 'P1');
  const stamp = t.moduleStamp('secmarkc');
  await t.apply('swap-p2', P2);
  await expectLive(t, 'p2', 'P2');
  const restamp = t.moduleStamp('secmarkc');
  t.check('unchanged-module-not-reinstalled', stamp !== null && restamp === stamp, {
    expected: 'P2 has the same CIL as P1: apply leaves the module alone',
    got: stamp === null ? 'no module secmarkc in the store' : restamp === stamp ? 'kept' : 'semodule reinstalled it',
  });

  await connectWhile(t, {
    name: 'swaps',
    times: SWAPS,
    stepsCheck: 'all-swaps-applied',
    // --no-module: the loop is about the nft batch; the module is the same and installed.
    step: (i) => t.apply(`swap-${i % 2 ? 'p2' : 'p1'}`, i % 2 ? P2 : P1, { async: true, allowFail: true, args: ['--no-module'] }),
  });

  // A batch the kernel refuses: the secmark contexts name level s1, which Debian's MCS policy lacks.
  await t.apply('swap-p1-again', P1);
  const before = t.run(['nft', '-s', 'list', 'table', 'inet', 'secmarkc']).stdout;
  const bad = await t.apply('swap-bad', policy({ level: 's1', aConnect: [{ to: [PEER4], ports: ['tcp/3129'] }] }), { allowFail: true });
  t.check('refused-batch-fails', bad.code !== 0, { expected: 'apply exits non-zero', got: `exit ${bad.code}: ${(bad.stderr + bad.stdout).trim().slice(0, 300)}` });
  const after = t.run(['nft', '-s', 'list', 'table', 'inet', 'secmarkc']).stdout;
  t.check('refused-batch-keeps-table', after === before, { expected: 'nft list table unchanged', got: after === before ? 'unchanged' : after.slice(0, 300) });
  await expectLive(t, 'after-refused-batch', 'P1');
}
