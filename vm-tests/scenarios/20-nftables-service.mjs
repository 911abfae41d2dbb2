// nftables.service with Debian's stock /etc/nftables.conf (it begins with `flush ruleset`),
// enabled in the boot of 11-13: at boot our unit runs after it (our table survives its flush and
// is enforcing); `systemctl restart nftables` and `systemctl reload nftables` each delete our
// table, and the unit (PartOf=, ReloadPropagatedFrom=, After=nftables.service) loads it again:
// polled until it is back, then enforcement checked. The module is not installed again.
import { readFileSync } from 'node:fs';
import { deniedPacket } from '../guest/lib.mjs';
import { journal, noJobs, tablePresent, unitProps, waitFor } from '../guest/systemd.mjs';

export const meta = { boot: 'systemd-valid', init: 'systemd', budgetSec: 240, needs: ['apply', 'install-unit'], title: 'nftables.service start, restart and reload: our table back and enforcing' };

export function setup(s) {
  s.record('conf', readFileSync('/etc/nftables.conf', 'utf8').split('\n').slice(0, 4).join('\n'));
  s.record('enable', s.run(['env', 'SYSTEMD_OFFLINE=1', 'systemctl', 'enable', 'nftables.service']));
}

const loopback = (expect, avc) => [{ id: 'tcp-lo4', proto: 'tcp', host: '127.0.0.1', port: 8080, expect, ...(avc ? { avc } : {}) }];
const installs = (t) => (journal(t, 'secmarkc.service').match(/installed CIL module/g) ?? []).length;
// A start is the full apply or secmarkc-boot's fast path (its record), whichever the boot file allows.
const applies = (t) => (journal(t, 'secmarkc.service').match(/applied table inet secmarkc|loaded table inet secmarkc from the record/g) ?? []).length;

async function enforcing(t, title) {
  await t.expect(`${title}-allowed`, loopback('ok'), { domain: 'smc_a_t' });
  await t.expect(`${title}-forbidden`, loopback('refused', deniedPacket('send', 'smc_b_t', 'secmarkc_srv_client_packet_t')), { domain: 'smc_b_t' });
}

export async function run(t) {
  const setup = (() => {
    try {
      return JSON.parse(readFileSync('/run/smc-setup/20-nftables-service.json', 'utf8'));
    } catch (e) {
      return { error: e.message };
    }
  })();
  t.check('stock-conf-flushes', /^flush ruleset$/m.test(setup.conf ?? '') && setup.enable?.code === 0, { expected: 'Debian /etc/nftables.conf with flush ruleset; nftables.service enabled', got: JSON.stringify(setup).slice(0, 300) });
  const nft = unitProps(t, 'nftables.service', ['ActiveState', 'ActiveEnterTimestampMonotonic']);
  const ours = unitProps(t, 'secmarkc.service', ['ActiveState', 'InactiveExitTimestampMonotonic', 'ActiveEnterTimestampMonotonic']);
  const order = { nftablesActiveUs: Number(nft.ActiveEnterTimestampMonotonic), secmarkcStartUs: Number(ours.InactiveExitTimestampMonotonic) };
  t.log(`boot order (µs): ${JSON.stringify(order)}; current states nftables ${nft.ActiveState}, secmarkc ${ours.ActiveState}`);
  const boot = t.run(['journalctl', '-b', '-u', 'secmarkc.service', '-u', 'nftables.service', '--no-pager', '-o', 'short-monotonic'], { allowFail: true }).stdout;
  t.log(`journal at boot: ${boot.trim().split('\n').slice(0, 12).join(' | ').slice(0, 1500)}`);
  // 12-reload and 13-rollback ran before: secmarkc.service was last started at boot.
  t.check('boot-order', nft.ActiveState === 'active' && order.nftablesActiveUs > 0 && order.nftablesActiveUs <= order.secmarkcStartUs, { expected: 'nftables.service active before secmarkc.service started', got: JSON.stringify({ ...order, nft: nft.ActiveState }) });
  const tables = t.run(['nft', 'list', 'tables']).stdout;
  t.check('both-tables-after-boot', /table inet filter/.test(tables) && /table inet secmarkc/.test(tables), { expected: 'inet filter (nftables.conf) and inet secmarkc', got: tables.trim().replace(/\n/g, ' | ') });

  await t.server([{ proto: 'tcp', host: '127.0.0.1', port: 8080 }], { domain: 'smc_server_t' });
  await enforcing(t, 'boot');

  const installed = installs(t);
  for (const action of ['restart', 'reload']) {
    const before = applies(t);
    const t0 = Date.now();
    const r = await t.phase(`${action}-nftables`, () => t.runAsync(['systemctl', action, 'nftables.service'], { allowFail: true }));
    const returned = Date.now() - t0;
    // Back: the unit applied once more, no job is left, the table is there.
    const back = await waitFor(() => applies(t) > before && noJobs(t) && tablePresent(t), 180_000);
    t.log(`systemctl ${action} nftables returned after ${returned} ms; our table back ${back ?? 'never'} ms later (${returned + (back ?? 0)} ms in all)`);
    const state = unitProps(t, 'secmarkc.service', ['ActiveState']).ActiveState;
    t.check(`${action}-table-back`, r.code === 0 && back !== undefined && state === 'active', { expected: `systemctl ${action} nftables exit 0; our table applied again; unit active`, got: `exit ${r.code} ${r.stderr.trim()}; back after ${back ?? 'never (180 s)'} ms; unit ${state}` });
    await enforcing(t, `after-${action}`);
  }
  const log = journal(t, 'secmarkc.service');
  t.check('module-not-reinstalled', installs(t) === installed && /CIL module \S+ unchanged/.test(log), { expected: 'no semodule run for the restarts: "CIL module ... unchanged"', got: `installs before ${installed}, after ${installs(t)}; ${log.trim().split('\n').slice(-4).join(' | ').slice(0, 300)}` });
}
