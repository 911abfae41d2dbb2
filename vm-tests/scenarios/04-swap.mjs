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
  const badText = policy({ level: 's1', aConnect: [{ to: [PEER4], ports: ['tcp/3129'] }] });
  const bad = await t.apply('swap-bad', badText, { allowFail: true });
  t.check('refused-batch-fails', bad.code !== 0, { expected: 'apply exits non-zero', got: `exit ${bad.code}: ${(bad.stderr + bad.stdout).trim().slice(0, 300)}` });
  // The kernel refuses app a's secmark object (EINVAL: no such context): reported at a's first
  // connect rule (`- ports:`) in the editor's form; the elements refused only because an object
  // was (ENOENT) are folded into that object's line, never an SMC101 of their own. (The kernel
  // answers a NEWSETELEM message with its first failing element only, so which object an
  // element's refusal is folded into depends on the order of the map.)
  const aRule = at(badText, /^ {2}a:$/m, /^ {6}- (ports:)/m);
  const objectLine = new RegExp(`^${escape(`${bad.path}:${aRule}: error SMC100: the kernel refused secmark "a_client" (system_u:object_r:secmarkc_a_client_packet_t:s1): Invalid argument (EINVAL)`)}(; refused with it: .*)?$`, 'm');
  t.check('refused-object-at-its-rule', objectLine.test(bad.stderr) && !/error SMC101/.test(bad.stderr) && /^secmarkc: the kernel refused the batch; the previous ruleset is unchanged$/m.test(bad.stderr), {
    expected: `${bad.path}:${aRule}: error SMC100: the kernel refused secmark "a_client" (...s1): Invalid argument (EINVAL), no SMC101 line`,
    got: bad.stderr.trim().slice(0, 900),
  });
  const after = t.run(['nft', '-s', 'list', 'table', 'inet', 'secmarkc']).stdout;
  t.check('refused-batch-keeps-table', after === before, { expected: 'nft list table unchanged', got: after === before ? 'unchanged' : after.slice(0, 300) });

  // semodule refuses a module that grants a domain the loaded policy lacks: SMC110 at that domain.
  const unknownText = P1.replace('domain: smc_other_t', 'domain: no_such_t');
  const refused = await t.apply('swap-unknown-domain', unknownText, { allowFail: true });
  const domainAt = at(unknownText, /^ {2}other:$/m, /^ {4}domain: (no_such_t)$/m);
  const moduleLine = new RegExp(`^${escape(`${refused.path}:${domainAt}: error SMC110: SELinux refused (allow no_such_t secmarkc_other_server_packet_t (packet (send recv)))`)}`, 'm');
  t.check('refused-module-at-its-domain', refused.code === 1 && moduleLine.test(refused.stderr), {
    expected: `exit 1, ${refused.path}:${domainAt}: error SMC110: SELinux refused (allow no_such_t ...)`,
    got: `exit ${refused.code}: ${refused.stderr.trim().slice(0, 900)}`,
  });
  await expectLive(t, 'after-refused-batch', 'P1');
}

/** `LINE:COL` of the first capture of `item` after `anchor` in `text` (1-based, as diagnostics count). */
function at(text, anchor, item) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => anchor.test(l));
  for (let i = start + 1; i < lines.length; i++) {
    const m = item.exec(lines[i]);
    if (m) return `${i + 1}:${lines[i].indexOf(m[1]) + 1}`;
  }
  throw new Error(`no ${item} after ${anchor}`);
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
