// Boot under systemd with an invalid /etc/secmarkc/policy.yaml and `--on-invalid lockdown`: our
// table drops everything but loopback from boot on (no module needed), the unit is failed and
// says LOCKDOWN with the policy line; other tables are untouched.
import { HOST4, PEER4, listeners, peerNetwork } from '../guest/fixtures.mjs';
import { ETC_POLICY, INVALID, installSecmarkc, journal, setupResults, unitProps } from '../guest/systemd.mjs';

export const meta = { boot: 'systemd-lockdown', init: 'systemd', budgetSec: 120, needs: ['apply', 'install-unit'], title: 'boot with an invalid policy, lockdown: only loopback passes, unit failed' };

export function setup(s) {
  s.writeFile(ETC_POLICY, INVALID);
  installSecmarkc(s, 'lockdown');
}

export async function run(t) {
  const setup = setupResults('15-boot-lockdown');
  t.check('setup-install-unit', setup.installUnit?.code === 0, { expected: 'exit 0', got: JSON.stringify(setup).slice(0, 300) });
  const unit = unitProps(t, 'secmarkc.service', ['ActiveState', 'ExecMainStatus']);
  t.check('unit-failed', unit.ActiveState === 'failed' && unit.ExecMainStatus === '2', { expected: 'failed, exit status 2', got: JSON.stringify(unit) });
  const log = journal(t, 'secmarkc.service');
  t.log(`journal: ${log.trim().split('\n').slice(-3).join(' | ')}`);
  t.check('journal-says-lockdown', new RegExp(`${ETC_POLICY}:\\d+:\\d+: error SMC031`).test(log) && /LOCKDOWN/.test(log), { expected: 'SMC031 with the policy line, and LOCKDOWN', got: log.trim().slice(-400) });
  const table = t.run(['nft', 'list', 'table', 'inet', 'secmarkc'], { allowFail: true }).stdout;
  t.check('lockdown-table', (table.match(/policy drop;/g) ?? []).length === 2 && !/secmark/.test(table.replace(/table inet secmarkc/, '')), { expected: 'two base chains, policy drop, no secmark objects', got: table.replace(/\s+/g, ' ').slice(0, 300) });

  peerNetwork(t);
  await t.server(listeners([3128]), { ns: 'peer' });
  await t.server([{ proto: 'tcp', host: '0.0.0.0', port: 8080 }]);
  const probe = (id, host, port, expect) => ({ id, proto: 'tcp', host, port, timeoutMs: 3000, expect });
  await t.expect('out-refused', [probe('to-peer', PEER4, 3128, 'timeout')]);
  await t.expect('in-refused', [probe('from-peer', HOST4, 8080, 'timeout')], { ns: 'peer' });
  await t.expect('loopback-open', [probe('lo', '127.0.0.1', 8080, 'ok')]);
}
