// `secmarkc learn`: in `unlabeled: audit`, A reaches the peer's tcp/80 (no rule: granted, logged)
// and B is refused on A's proxy (denied). `learn --dmesg --policy` suggests A's connection under
// A's existing app and skips B's (app a already labels that peer and port). The suggestion merged
// into the policy and `unlabeled: deny` applied: A still reaches tcp/80, B is refused there.
// Traffic to learn from goes through t.probe, which leaves the ring buffer alone (t.expect reads
// it with dmesg -c, and learn --dmesg must still find the lines).
import { deniedPacket } from '../guest/lib.mjs';
import { PEER4, listeners, peerNetwork, policy } from '../guest/fixtures.mjs';

export const meta = { boot: 'learn', budgetSec: 900, needs: ['apply', 'learn'], title: 'learn suggests what audit mode logged; merged, it keeps A working under deny' };

const SKELETON_A = [{ to: [PEER4], ports: ['tcp/3128'] }];

export async function run(t) {
  peerNetwork(t);
  await t.server(listeners([80, 3128, 8081]), { ns: 'peer' });
  const audited = await t.apply('learn-audit', policy({ unlabeled: 'audit', aConnect: SKELETON_A }));

  t.kmsg.read(); // empty the ring buffer: learn --dmesg then sees this scenario's traffic only
  const a = await t.probe([{ id: 'a-http', proto: 'tcp', host: PEER4, port: 80, timeoutMs: 5000 }], { domain: 'smc_a_t' });
  const b = await t.probe([{ id: 'b-proxy', proto: 'tcp', host: PEER4, port: 3128, timeoutMs: 5000 }], { domain: 'smc_b_t' });
  t.check('audit:a-unlabeled-ok', a['a-http'].outcome === 'ok', { expected: 'ok', got: a['a-http'].outcome });
  t.check('audit:b-proxy-refused', b['b-proxy'].outcome === 'refused', { expected: 'refused', got: b['b-proxy'].outcome });

  const learned = await t.phase('learn', () => t.secmarkc(['learn', '--dmesg', '--policy', audited.path, '--json']));
  const snippet = t.secmarkc(['learn', '--dmesg', '--policy', audited.path]).stdout;
  t.kmsg.read(); // keep the lines for the driver's AVC report
  for (const line of snippet.split('\n').filter((l) => !l.startsWith('#   '))) t.log(`snippet: ${line}`);
  const suggestion = JSON.parse(learned.stdout);

  const appA = suggestion.apps.find((app) => app.domain === 'smc_a_t');
  const entry = appA?.connect.find((o) => o.peer === PEER4 && o.port === 80 && o.protocol === 'tcp');
  t.check('learn:a-suggested-in-app-a', appA?.name === 'a' && appA.existing && entry !== undefined && entry.granted > 0, {
    expected: `app a (existing, smc_a_t) connect to ${PEER4} tcp/80 from granted lines`,
    got: JSON.stringify(appA ?? suggestion.apps).slice(0, 400),
  });
  const bSkip = suggestion.skipped.find((s) => s.observation.domain === 'smc_b_t' && s.observation.port === 3128);
  t.check('learn:b-not-suggested', bSkip?.reason.kind === 'claimed' && bSkip.reason.app === 'a' && !suggestion.apps.some((x) => x.domain === 'smc_b_t'), {
    expected: 'smc_b_t on tcp/3128 skipped: claimed by app a',
    got: JSON.stringify(bSkip ?? suggestion.skipped).slice(0, 400),
  });
  const fragment = t.secmarkc(['check', '-'], { allowFail: true, input: `version: 1\nunlabeled: deny\n${snippet}` });
  t.check('learn:snippet-is-valid-policy', fragment.code === 0, { expected: 'check exits 0', got: `${fragment.code}: ${(fragment.stderr + fragment.stdout).slice(0, 300)}` });
  if (!entry) return;

  // Merge: app a's entries from the suggestion go into the policy, which switches to deny.
  const merged = [...SKELETON_A, ...appA.connect.map((o) => ({ to: [o.peer], ports: [o.port === undefined ? o.protocol : `${o.protocol}/${o.port}`] }))];
  await t.apply('learn-deny', policy({ unlabeled: 'deny', aConnect: merged }));
  await t.expect('deny:a-learned', [{ id: 'a-http', proto: 'tcp', host: PEER4, port: 80, expect: 'ok' }], { domain: 'smc_a_t' });
  await t.expect('deny:b-refused', [
    { id: 'b-http', proto: 'tcp', host: PEER4, port: 80, expect: 'refused', avc: deniedPacket('send', 'smc_b_t', 'secmarkc_a_client_packet_t') },
    { id: 'b-other', proto: 'tcp', host: PEER4, port: 8081, expect: 'refused', avc: deniedPacket('send', 'smc_b_t', 'unlabeled_t') },
  ], { domain: 'smc_b_t' });
}
