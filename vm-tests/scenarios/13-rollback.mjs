// `secmarkc apply --rollback` (same boot as 12-reload, whose reloads recorded P1 as current and
// P2 as previous in /var/lib/secmarkc): rollback loads P2 (no module change), a second rollback
// returns to P1, and with no previous record it fails and changes nothing.
import { readFileSync, writeFileSync } from 'node:fs';
import { P1, P2, listeners, peerNetwork } from '../guest/fixtures.mjs';
import { expectLive } from '../guest/swap-loop.mjs';

export const meta = { boot: 'systemd-valid', init: 'systemd', budgetSec: 180, needs: ['apply', 'install-unit'], title: 'apply --rollback restores the previous policy, twice; nothing to roll back to' };

export async function run(t) {
  peerNetwork(t);
  await t.server(listeners([3128, 3129]), { ns: 'peer' });
  writeFileSync('/tmp/p1.yaml', P1);
  writeFileSync('/tmp/p2.yaml', P2);
  const stamp = t.moduleStamp('secmarkc');

  const first = await t.phase('rollback-1', () => t.secmarkcAsync(['apply', '--rollback'], { allowFail: true }));
  t.check('rollback-exit-0', first.code === 0 && /rolled back table inet secmarkc/.test(first.stdout), { expected: 'exit 0, "rolled back" on stdout', got: `exit ${first.code}: ${(first.stdout + first.stderr).trim().slice(0, 300)}` });
  await expectLive(t, 'after-rollback-p2', 'P2');
  const drift = t.secmarkc(['status', '/tmp/p2.yaml'], { allowFail: true });
  t.check('rollback-no-drift-from-p2', drift.code === 0, { expected: 'status P2: exit 0', got: `exit ${drift.code}: ${drift.stdout.split('\n').slice(-3).join(' | ')}` });
  const read = (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      return JSON.stringify({ error: e.message });
    }
  };
  // The index (secmarkc.state.json) names the current record and how it came to be loaded.
  const index = JSON.parse(read('/var/lib/secmarkc/secmarkc.state.json'));
  t.check('rollback-recorded', index.current?.via === 'rollback' && index.live === 'current' && index.pending === null, { expected: 'state.json: current via rollback, live, nothing pending', got: index.error ?? JSON.stringify({ via: index.current?.via, live: index.live, pending: index.pending }) });
  const status = t.secmarkc(['status'], { allowFail: true });
  t.check('status-says-current-live', status.code === 0 && /record: the live table is the current record/.test(status.stdout), { expected: 'status: the current record is live', got: `exit ${status.code}: ${status.stdout.split('\n').slice(-2).join(' | ')}` });
  const history = read('/var/lib/secmarkc/secmarkc.history').trim().split('\n').map((l) => JSON.parse(l).event ?? l);
  t.check('history', history.at(-1) === 'rollback' && history.includes('keep') && history.filter((e) => e === 'apply').length >= 7, { expected: 'boot apply, 6 reloads, keep, rollback', got: history.join(',') });
  t.check('module-untouched', stamp !== null && t.moduleStamp('secmarkc') === stamp, { expected: 'same CIL: no semodule', got: String(t.moduleStamp('secmarkc')) });

  const second = await t.phase('rollback-2', () => t.secmarkcAsync(['apply', '--rollback'], { allowFail: true }));
  t.check('second-rollback-exit-0', second.code === 0, { expected: 'exit 0', got: `exit ${second.code}: ${second.stderr.trim().slice(0, 300)}` });
  await expectLive(t, 'after-second-rollback-p1', 'P1');

  const before = t.run(['nft', '-s', 'list', 'table', 'inet', 'secmarkc']).stdout;
  const none = t.secmarkc(['apply', '--rollback', '--state-dir', '/tmp/empty-state'], { allowFail: true });
  const after = t.run(['nft', '-s', 'list', 'table', 'inet', 'secmarkc']).stdout;
  t.check('nothing-to-roll-back', none.code === 1 && /nothing to roll back to/.test(none.stderr), { expected: 'exit 1, "nothing to roll back to"', got: `exit ${none.code}: ${none.stderr.trim().slice(0, 300)}` });
  t.check('nothing-to-roll-back-keeps-table', before === after, { expected: 'table unchanged', got: before === after ? 'unchanged' : 'changed' });
}
