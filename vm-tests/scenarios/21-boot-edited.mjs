// Boot under systemd after the policy was edited since its last apply: the record and its boot
// file are of P1, /etc/secmarkc/policy.yaml now holds P2. secmarkc-boot must not load the stale
// record: it says why and hands over to the full apply (node), which loads P2 and records it;
// the table is in place before network-pre.target and enforces. The unit's start-to-exit time
// (systemd's timestamps) is the node path's, beside 11-boot's fast path.
import { readFileSync } from 'node:fs';
import { deniedPacket } from '../guest/lib.mjs';
import { FAST_PATH, FELL_BACK, appliedBefore, installSecmarkcJson, journal, mainProcess, setupResults, unitProps, writePolicy } from '../guest/systemd.mjs';
import { P1, P2 } from '../guest/fixtures.mjs';

export const meta = { boot: 'systemd-edited', init: 'systemd', budgetSec: 600, needs: ['apply', 'install-unit'], title: 'boot after the policy was edited: secmarkc-boot falls back, the full apply loads the new policy' };

export function setup(s) {
  appliedBefore(s, P1);
  writePolicy(P2);
  installSecmarkcJson(s, 'keep');
}

const loopback = (expect, avc) => [{ id: 'tcp-lo4', proto: 'tcp', host: '127.0.0.1', port: 8080, expect, ...(avc ? { avc } : {}) }];

export async function run(t) {
  const setup = setupResults('21-boot-edited');
  t.check('setup-applied', setup.applied?.code === 0 && setup.bootFile === true && setup.deleted?.code === 0 && typeof setup.installUnit?.report?.bootLoader === 'string', { expected: 'apply exit 0, boot file, table deleted, install-unit found the loader', got: JSON.stringify({ applied: setup.applied?.code, bootFile: setup.bootFile, deleted: setup.deleted?.code, loader: setup.installUnit?.report?.bootLoader, error: setup.error }) });

  const unit = unitProps(t, 'secmarkc.service', ['ActiveState', 'Result']);
  t.check('unit-active', unit.ActiveState === 'active' && unit.Result === 'success', { expected: 'active, success', got: JSON.stringify(unit) });
  const log = journal(t, 'secmarkc.service');
  const why = FELL_BACK.exec(log)?.[1];
  t.check('loader-fell-back', why !== undefined && /the policy \/etc\/secmarkc\/policy\.yaml changed since it was applied/.test(why) && !FAST_PATH.test(log), { expected: 'secmarkc-boot: the policy ... changed since it was applied: running the full apply', got: log.trim().split('\n').slice(0, 4).join(' | ').slice(0, 500) });
  t.check('full-apply', /applied table inet secmarkc/.test(log), { expected: 'journal: applied table inet secmarkc (node)', got: log.trim().split('\n').slice(-3).join(' | ').slice(0, 400) });
  const main = mainProcess(t, 'secmarkc.service');
  t.log(`TIMING node path: secmarkc.service main process start to exit ${main.ms} ms (systemd monotonic timestamps ${main.startUs} -> ${main.exitUs})`);

  // The new policy is live: P2 sends smc_a_t to the peer's tcp/3129, P1 to tcp/3128.
  const table = t.run(['nft', 'list', 'table', 'inet', 'secmarkc'], { allowFail: true }).stdout;
  t.check('p2-live', /\. 3129 :/.test(table) && !/\. 3128 :/.test(table), { expected: 'the map has tcp/3129 (P2), not tcp/3128 (P1)', got: (table.match(/.*31(28|29).*/g) ?? []).join(' | ').slice(0, 300) || table.slice(0, 300) });
  const history = readFileSync('/var/lib/secmarkc/secmarkc.history', 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.check('recorded', history.at(-1)?.event === 'apply' && history.every((h) => h.event !== 'boot'), { expected: 'the last history line is the boot-time apply; no boot line', got: history.map((h) => h.event).join(',') });

  const netPre = Number(unitProps(t, 'network-pre.target', ['ActiveEnterTimestampMonotonic']).ActiveEnterTimestampMonotonic);
  t.check('table-before-network-pre', main.activeUs > 0 && netPre > 0 && main.activeUs <= netPre, { expected: 'secmarkc active <= network-pre.target', got: JSON.stringify({ secmarkcActiveUs: main.activeUs, networkPreUs: netPre }) });

  await t.server([{ proto: 'tcp', host: '127.0.0.1', port: 8080 }], { domain: 'smc_server_t' });
  await t.expect('allowed', loopback('ok'), { domain: 'smc_a_t' });
  await t.expect('forbidden', loopback('refused', deniedPacket('send', 'smc_b_t', 'secmarkc_srv_client_packet_t')), { domain: 'smc_b_t' });
}
