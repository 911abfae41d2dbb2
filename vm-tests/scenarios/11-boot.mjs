// Boot under systemd with secmarkc.service installed by `secmarkc install-unit`, a valid policy in
// /etc/secmarkc/policy.yaml and the record (and boot file) of its apply by the administrator
// before the reboot: secmarkc-boot loads the recorded batch (the fast path: its journal line, no
// node), the table is in place before network-pre.target (systemd's own monotonic timestamps),
// and an early unit ordered between the two finds it: an allowed loopback connection works, a
// forbidden one is refused. The loader runs in a loader domain (init_t runs bin_t as initrc_t:
// creating secmark objects needs `packet relabelto`), as does a unit that executes node (Debian:
// initrc_t). 21-boot-edited is the other half: a policy edited before the boot takes the full apply.
import { readFileSync } from 'node:fs';
import { NODE, deniedPacket } from '../guest/lib.mjs';
import { FAST_PATH, FELL_BACK, appliedBefore, earlyProbeUnit, installSecmarkcJson, journal, mainProcess, setupResults, unitProps } from '../guest/systemd.mjs';
import { P1 } from '../guest/fixtures.mjs';

export const meta = { boot: 'systemd-valid', init: 'systemd', budgetSec: 480, needs: ['apply', 'install-unit'], title: 'boot: fast path from the record, table before network-pre.target, early unit allowed/refused' };

export function setup(s) {
  appliedBefore(s, P1);
  const install = installSecmarkcJson(s, 'keep');
  earlyProbeUnit(s);
  // Started by the scenario: the domain secmarkc-boot runs in. Given a state directory that does
  // not exist it falls back at once, exec'ing /bin/sh (shell_exec_t: no transition), which
  // writes the domain it inherited.
  let loader;
  try {
    loader = JSON.parse(install.stdout).bootLoader;
  } catch {
    loader = undefined;
  }
  if (loader) {
    s.unit(
      'smc-loader-domain.service',
      `[Service]\nType=oneshot\nExecStart=${loader} --state-dir /nonexistent /nonexistent.yaml -- /bin/sh -c "cat /proc/self/attr/current > /run/smc-loader-domain"\n`,
    );
  }
  // Started by the scenario: reports the domain a unit running node gets without SELinuxContext=.
  s.unit(
    'smc-domain.service',
    `[Service]\nType=oneshot\nExecStart=${NODE} --jitless --no-expose-wasm -e "require('fs').writeFileSync('/run/smc-domain', require('fs').readFileSync('/proc/self/attr/current'))"\n`,
  );
}

export async function run(t) {
  const setup = setupResults('11-boot');
  const install = setup.installUnit ?? {};
  const report = install.report ?? {};
  t.check('setup-applied', setup.applied?.code === 0 && setup.bootFile === true && setup.deleted?.code === 0, { expected: 'apply exit 0, boot file written, table deleted again', got: JSON.stringify({ applied: setup.applied?.code, stderr: setup.applied?.stderr?.slice(-300), bootFile: setup.bootFile, deleted: setup.deleted }) });
  t.check('install-unit', install.code === 0 && report.enabled === true && typeof report.bootLoader === 'string', { expected: 'exit 0, enabled, bootLoader found', got: `exit ${install.code}: ${(install.stdout + install.stderr).trim().slice(0, 300)}${setup.error ?? ''}` });
  const execStart = t.run(['systemctl', 'show', '-p', 'ExecStart', 'secmarkc.service'], { allowFail: true }).stdout;
  t.check('exec-start-loader', /secmarkc-boot --state-dir \S+ \/etc\/secmarkc\/policy\.yaml -- \S+node --jitless/.test(execStart), { expected: 'ExecStart: secmarkc-boot ... -- node --jitless ... apply', got: execStart.slice(0, 400) });
  const enabled = t.run(['systemctl', 'is-enabled', 'secmarkc.service'], { allowFail: true }).stdout.trim();
  t.check('unit-enabled', enabled === 'enabled', { expected: 'enabled', got: enabled });

  const unit = unitProps(t, 'secmarkc.service', ['ActiveState', 'Result', 'ExecMainStatus', 'ActiveEnterTimestampMonotonic', 'InactiveExitTimestampMonotonic']);
  t.check('unit-active', unit.ActiveState === 'active' && unit.Result === 'success', { expected: 'active, success', got: JSON.stringify(unit) });
  const log = journal(t, 'secmarkc.service');
  t.check('journal-fast-path', FAST_PATH.test(log) && !FELL_BACK.test(log) && !/applied table inet secmarkc/.test(log), { expected: 'journal: secmarkc-boot loaded the record (no fallback, no node apply)', got: log.trim().split('\n').slice(-4).join(' | ') });
  const main = mainProcess(t, 'secmarkc.service');
  t.log(`TIMING fast path: secmarkc.service main process start to exit ${main.ms} ms (systemd monotonic timestamps ${main.startUs} -> ${main.exitUs})`);
  t.check('fast-path-exit-0', main.status === '0' && main.ms !== undefined, { expected: 'exit 0, timestamps', got: JSON.stringify(main) });

  const netPre = Number(unitProps(t, 'network-pre.target', ['ActiveEnterTimestampMonotonic']).ActiveEnterTimestampMonotonic);
  let early;
  try {
    early = JSON.parse(readFileSync('/run/smc-early.json', 'utf8'));
  } catch (e) {
    early = { error: `no /run/smc-early.json: ${e.message}` };
  }
  const applied = Number(unit.ActiveEnterTimestampMonotonic);
  const timeline = { secmarkcStartUs: Number(unit.InactiveExitTimestampMonotonic), secmarkcActiveUs: applied, earlyStartUs: early.startUs, earlyEndUs: early.endUs, networkPreUs: netPre };
  t.log(`timeline (µs CLOCK_MONOTONIC): ${JSON.stringify(timeline)}`);
  t.check('table-before-network-pre', applied > 0 && netPre > 0 && applied <= early.startUs && early.endUs <= netPre, { expected: 'secmarkc active <= early unit <= network-pre.target', got: JSON.stringify(timeline) });
  t.check('early-unit-sees-table', early.tableListed === true, { expected: 'nft list table inet secmarkc works in the early unit', got: early.tableError ?? early.error });
  const r = early.results ?? {};
  t.check('early-allowed-ok', r.allowed?.outcome === 'ok', { expected: 'ok', got: JSON.stringify(r.allowed ?? early.error) });
  t.check('early-forbidden-refused', r.forbidden?.outcome === 'refused', { expected: 'refused', got: JSON.stringify(r.forbidden ?? early.error) });
  const denial = t.kmsg.lines.find((l) => deniedPacket('send', 'smc_b_t', 'secmarkc_srv_client_packet_t').test(l));
  t.check('early-forbidden-avc', denial !== undefined, { expected: 'avc: denied { send } for smc_b_t at boot', got: denial?.replace(/^.*avc:/, 'avc:').slice(0, 200) ?? 'none' });

  // The domain secmarkc-boot runs in, started by systemd as secmarkc.service starts it.
  const loaderStarted = t.run(['systemctl', 'start', 'smc-loader-domain.service'], { allowFail: true });
  let loaderDomain;
  try {
    loaderDomain = readFileSync('/run/smc-loader-domain', 'utf8').replace(/\0/g, '');
  } catch (e) {
    loaderDomain = `${e.message}; systemctl start: ${loaderStarted.stderr.trim()}`;
  }
  t.check('loader-domain', /:initrc_t:/.test(loaderDomain), { expected: 'system_u:system_r:initrc_t:s0 (init_t runs bin_t as initrc_t)', got: loaderDomain.slice(0, 200) });

  // The domain systemd gives a service that runs node as secmarkc.service does (smc-domain.service).
  const started = t.run(['systemctl', 'start', 'smc-domain.service'], { allowFail: true });
  let domain;
  try {
    domain = readFileSync('/run/smc-domain', 'utf8').replace(/\0/g, '');
  } catch (e) {
    domain = `${e.message}; systemctl start: ${started.stderr.trim()}`;
  }
  t.check('service-domain', /:initrc_t:/.test(domain), { expected: 'system_u:system_r:initrc_t:s0 (init_t runs bin_t as initrc_t)', got: domain.slice(0, 200) });
  // The service itself ran without a denial (V8 without --jitless would need execmem here).
  const serviceDenials = t.kmsg.lines.filter((l) => /avc:\s+denied/.test(l) && /scontext=\S*:initrc_t:/.test(l));
  t.check('service-no-denials', serviceDenials.length === 0, { expected: 'no AVC denial for initrc_t', got: serviceDenials.slice(0, 3).map((l) => l.replace(/^.*avc:/, 'avc:').slice(0, 200)).join(' | ') || 'none' });
}
