// Boot under systemd with an invalid /etc/secmarkc/policy.yaml and `--on-invalid keep`: the
// last good policy (recorded by an earlier apply, here in a scratch namespace during setup) is
// loaded at boot, module included; the unit is failed and its journal names the policy line.
// Fixing the policy and restarting the unit brings it back to active.
import { deniedPacket } from '../guest/lib.mjs';
import { ETC_POLICY, INVALID, installSecmarkc, journal, setupResults, unitProps, writePolicy } from '../guest/systemd.mjs';
import { P1 } from '../guest/fixtures.mjs';
import { writeFileSync } from 'node:fs';

export const meta = { boot: 'systemd-keep', init: 'systemd', budgetSec: 300, needs: ['apply', 'install-unit'], title: 'boot with an invalid policy, keep: last good ruleset, unit failed with the reason' };

export function setup(s) {
  // The record an earlier successful apply leaves (no kernel state: a scratch namespace, --no-lsm).
  s.writeFile('/tmp/last-good.yaml', P1);
  s.run(['ip', 'netns', 'add', 'scratch']);
  s.record('lastGood', s.secmarkc(['apply', '/tmp/last-good.yaml', '--no-lsm', '--netns', '/run/netns/scratch']));
  s.run(['ip', 'netns', 'del', 'scratch']);
  s.writeFile(ETC_POLICY, INVALID);
  installSecmarkc(s, 'keep');
}

const loopback = (expect, avc) => [{ id: 'tcp-lo4', proto: 'tcp', host: '127.0.0.1', port: 8080, expect, ...(avc ? { avc } : {}) }];

export async function run(t) {
  const setup = setupResults('14-boot-keep');
  t.check('setup-last-good-recorded', setup.lastGood?.code === 0 && setup.installUnit?.code === 0, { expected: 'apply and install-unit exit 0', got: JSON.stringify(setup).slice(0, 400) });

  const unit = unitProps(t, 'secmarkc.service', ['ActiveState', 'Result', 'ExecMainStatus']);
  t.check('unit-failed', unit.ActiveState === 'failed' && unit.ExecMainStatus === '2', { expected: 'failed, exit status 2 (invalid policy)', got: JSON.stringify(unit) });
  const log = journal(t, 'secmarkc.service');
  t.log(`journal: ${log.trim().split('\n').slice(-4).join(' | ')}`);
  t.check('journal-says-why', new RegExp(`${ETC_POLICY}:\\d+:\\d+: error SMC031`).test(log) && /kept the last good policy, compiled from \/tmp\/last-good.yaml/.test(log), { expected: 'policy line with SMC031, and "kept the last good policy"', got: log.trim().slice(-400) });

  writeFileSync('/tmp/p1.yaml', P1);
  const status = t.secmarkc(['status', '/tmp/p1.yaml'], { allowFail: true });
  t.check('last-good-in-force', status.code === 0 && /no drift/.test(status.stdout), { expected: 'status P1: no drift', got: `exit ${status.code}: ${status.stdout.split('\n').slice(-3).join(' | ')}` });
  await t.server([{ proto: 'tcp', host: '127.0.0.1', port: 8080 }], { domain: 'smc_server_t' });
  await t.expect('enforced-allowed', loopback('ok'), { domain: 'smc_a_t' });
  await t.expect('enforced-forbidden', loopback('refused', deniedPacket('send', 'smc_b_t', 'secmarkc_srv_client_packet_t')), { domain: 'smc_b_t' });

  writePolicy(P1);
  const restart = await t.phase('restart-fixed', () => t.runAsync(['systemctl', 'restart', 'secmarkc.service'], { allowFail: true }));
  const fixed = unitProps(t, 'secmarkc.service', ['ActiveState', 'Result']);
  t.check('fixed-policy-restart-active', restart.code === 0 && fixed.ActiveState === 'active', { expected: 'restart exit 0, active', got: `exit ${restart.code}, ${JSON.stringify(fixed)}` });
}
