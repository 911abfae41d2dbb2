// Boot under systemd with secmarkc.service installed and enabled (`--on-invalid keep`, the
// default) before any policy was written, and no policy ever applied: the unit applies nothing,
// is active and says so; there is no table, and the host stays reachable both ways over a veth
// (connections the lockdown ruleset would drop).
import { existsSync } from 'node:fs';
import { HOST4, PEER4, listeners, peerNetwork } from '../guest/fixtures.mjs';
import { ETC_POLICY, installSecmarkcJson, journal, setupResults, tablePresent, unitProps } from '../guest/systemd.mjs';

export const meta = { boot: 'systemd-nopolicy', init: 'systemd', budgetSec: 90, needs: ['apply', 'install-unit'], title: 'boot with the unit enabled, no policy and no record: nothing applied, unit active, host reachable' };

export function setup(s) {
  s.record('policyExisted', existsSync(ETC_POLICY));
  installSecmarkcJson(s, 'keep');
}

export async function run(t) {
  const setup = setupResults('18-boot-no-policy');
  const install = setup.installUnit ?? {};
  const report = install.report ?? {};
  t.check('install-unit-json', install.code === 0 && report.atBoot === 'nothing-to-apply' && report.enabled === true && report.policy?.exists === false && report.onInvalid === 'keep', {
    expected: 'exit 0; atBoot nothing-to-apply, enabled, policy.exists false, onInvalid keep',
    got: `exit ${install.code}: ${JSON.stringify(report).slice(0, 300)}${setup.error ?? ''}`,
  });
  t.check('install-unit-note', /does not exist yet.*applies nothing at boot and stays active/.test(install.stderr ?? ''), { expected: 'stderr note: applies nothing at boot', got: (install.stderr ?? '').trim().slice(0, 300) });
  t.check('no-policy-file', setup.policyExisted === false && !existsSync(ETC_POLICY), { expected: `no ${ETC_POLICY}`, got: String(setup.policyExisted) });

  const unit = unitProps(t, 'secmarkc.service', ['ActiveState', 'Result', 'ExecMainStatus']);
  t.check('unit-active', unit.ActiveState === 'active' && unit.Result === 'success' && unit.ExecMainStatus === '0', { expected: 'active, success, exit 0', got: JSON.stringify(unit) });
  const log = journal(t, 'secmarkc.service');
  t.log(`journal: ${log.trim().split('\n').slice(-2).join(' | ')}`);
  t.check('journal-nothing-to-apply', new RegExp(`${ETC_POLICY} does not exist and no policy was ever applied .*: nothing to apply; table inet secmarkc is not loaded`).test(log), { expected: 'journal: does not exist ... nothing to apply', got: log.trim().slice(-400) });
  t.check('no-table', !tablePresent(t), { expected: 'no table inet secmarkc', got: t.run(['nft', 'list', 'tables'], { allowFail: true }).stdout.trim() });

  peerNetwork(t);
  await t.server(listeners([3128]), { ns: 'peer' });
  await t.server([{ proto: 'tcp', host: '0.0.0.0', port: 8080 }]);
  const probe = (id, host, port) => ({ id, proto: 'tcp', host, port, timeoutMs: 5000, expect: 'ok' });
  // As 15-boot-lockdown probes (the driver's unconfined_t; the test domains have no unlabeled_t
  // packet rule, and the peer's relabelling table turns packet checks on for the whole kernel).
  await t.expect('reachable-out', [probe('to-peer', PEER4, 3128)]);
  await t.expect('reachable-in', [probe('from-peer', HOST4, 8080)], { ns: 'peer' });
}
