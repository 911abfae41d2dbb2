// Boot under systemd after the policy file was deleted, with a record of the policy applied
// from it earlier (`--on-invalid keep`, the default): the last applied policy is loaded at boot
// and enforced (allowed and refused connections, with the AVC line), the unit is failed with the
// reason. While it is failed, a restart of nftables.service (Debian's /etc/nftables.conf flushes
// the ruleset) is followed by our table again (the unit is wanted by nftables.service); a reload
// of nftables.service is not (systemd does not propagate a reload to a failed unit): `status`
// then names the cause and the fix.
import { deniedPacket } from '../guest/lib.mjs';
import { ETC_POLICY, installSecmarkcJson, journal, noJobs, recordP1, setupResults, tablePresent, unitProps, waitFor } from '../guest/systemd.mjs';
import { existsSync, rmSync } from 'node:fs';

export const meta = { boot: 'systemd-deleted', init: 'systemd', budgetSec: 300, needs: ['apply', 'install-unit'], title: 'boot after the policy file was deleted: the last applied policy enforced, unit failed' };

export function setup(s) {
  recordP1(s);
  rmSync(ETC_POLICY);
  installSecmarkcJson(s, 'keep');
}

const loopback = (expect, avc) => [{ id: 'tcp-lo4', proto: 'tcp', host: '127.0.0.1', port: 8080, expect, ...(avc ? { avc } : {}) }];
const keptLines = (log) => (log.match(/kept the last good policy, compiled from \/etc\/secmarkc\/policy\.yaml/g) ?? []).length;

export async function run(t) {
  const setup = setupResults('19-boot-policy-deleted');
  const report = setup.installUnit?.report ?? {};
  t.check('setup', setup.lastGood?.code === 0 && setup.installUnit?.code === 0 && !existsSync(ETC_POLICY), { expected: 'apply and install-unit exit 0, policy deleted', got: JSON.stringify(setup).slice(0, 400) });
  t.check('install-unit-says-keep', report.atBoot === 'keep-last-applied' && report.recorded === true && /keeps the policy last applied/.test(setup.installUnit?.stderr ?? ''), { expected: 'atBoot keep-last-applied, recorded, a note', got: `${JSON.stringify(report).slice(0, 200)} ${setup.installUnit?.stderr ?? ''}`.slice(0, 400) });

  const unit = unitProps(t, 'secmarkc.service', ['ActiveState', 'Result', 'ExecMainStatus']);
  t.check('unit-failed', unit.ActiveState === 'failed' && unit.ExecMainStatus === '1', { expected: 'failed, exit status 1 (missing policy)', got: JSON.stringify(unit) });
  const log = journal(t, 'secmarkc.service');
  t.log(`journal: ${log.trim().split('\n').slice(-3).join(' | ')}`);
  t.check('journal-says-why', log.includes(`policy ${ETC_POLICY} does not exist`) && keptLines(log) === 1, { expected: 'journal: policy does not exist, kept the last good policy', got: log.trim().slice(-400) });
  const status = t.secmarkc(['status'], { allowFail: true });
  t.check('status-current-record', status.code === 0 && /record: the live table is the current record \(compiled from \/etc\/secmarkc\/policy\.yaml/.test(status.stdout), { expected: 'status: the current record is live', got: `exit ${status.code}: ${status.stdout.split('\n').slice(-2).join(' | ')}` });

  await t.server([{ proto: 'tcp', host: '127.0.0.1', port: 8080 }], { domain: 'smc_server_t' });
  await t.expect('enforced-allowed', loopback('ok'), { domain: 'smc_a_t' });
  await t.expect('enforced-forbidden', loopback('refused', deniedPacket('send', 'smc_b_t', 'secmarkc_srv_client_packet_t')), { domain: 'smc_b_t' });

  // nftables.service is installed, not enabled: a restart starts it, and its config flushes the ruleset.
  const t0 = Date.now();
  const restart = await t.phase('restart-nftables-while-failed', () => t.runAsync(['systemctl', 'restart', 'nftables.service'], { allowFail: true }));
  const returned = Date.now() - t0;
  const back = await waitFor(() => noJobs(t) && tablePresent(t) && keptLines(journal(t, 'secmarkc.service')) === 2, 180_000);
  t.log(`systemctl restart nftables returned after ${returned} ms; our table back ${back ?? 'never'} ms later`);
  t.check('restart-nftables-table-back', restart.code === 0 && back !== undefined, { expected: 'systemctl restart nftables exit 0; our table back, kept again', got: `exit ${restart.code} ${restart.stderr.trim()}; back after ${back ?? 'never (180 s)'} ms` });
  await t.expect('after-restart-forbidden', loopback('refused', deniedPacket('send', 'smc_b_t', 'secmarkc_srv_client_packet_t')), { domain: 'smc_b_t' });

  const reload = t.run(['systemctl', 'reload', 'nftables.service'], { allowFail: true });
  const settled = await waitFor(() => noJobs(t), 120_000);
  const gone = !tablePresent(t);
  t.check('reload-nftables-while-failed-not-followed', reload.code === 0 && settled !== undefined && gone, { expected: 'reload exit 0; no job left; our table gone (a failed unit is not reloaded)', got: `exit ${reload.code}; jobs done: ${settled !== undefined}; table ${gone ? 'gone' : 'present'}` });
  const after = t.secmarkc(['status'], { allowFail: true });
  t.log(`status: ${after.stdout.trim().split('\n').slice(-1)[0]}`);
  t.check('status-explains-missing-table', after.code === 3 && /Likely cause: a ruleset flush: \/etc\/nftables\.conf has "flush ruleset", so a start, restart or reload of nftables\.service deletes table inet secmarkc/.test(after.stdout) && /systemctl restart secmarkc/.test(after.stdout), { expected: 'exit 3, names nftables.conf and the fix', got: `exit ${after.code}: ${after.stdout.trim().slice(-400)}` });
  const json = t.secmarkc(['status', '--json'], { allowFail: true });
  let missing;
  try {
    missing = JSON.parse(json.stdout).record?.missing;
  } catch {
    missing = undefined;
  }
  t.check('status-json-missing', missing?.causes?.[0] === 'nftables.service' && missing?.nftablesConf?.flushesRuleset === true && missing?.fix?.includes('systemctl restart secmarkc'), { expected: 'record.missing: causes[0] nftables.service, flushesRuleset, fix', got: JSON.stringify(missing ?? json.stdout.slice(0, 200)) });
  const restartUs = t.run(['systemctl', 'restart', 'secmarkc.service'], { allowFail: true });
  t.check('restart-secmarkc-table-back', tablePresent(t), { expected: 'table back after systemctl restart secmarkc (the unit fails again: no policy)', got: `exit ${restartUs.code}, table ${tablePresent(t) ? 'present' : 'missing'}` });
}
