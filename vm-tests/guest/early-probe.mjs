// An early-boot unit of the systemd scenarios (11-boot): ordered after secmarkc.service and
// before network-pre.target, it checks that our table is loaded, then tries an allowed and a
// forbidden connection over loopback, and writes what it saw, with CLOCK_MONOTONIC times
// comparable to systemd's *TimestampMonotonic, to /run/smc-early.json for the scenario.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import process from 'node:process';
import { Context } from './lib.mjs';

/** µs of CLOCK_MONOTONIC (node's hrtime), the clock of systemd's *TimestampMonotonic. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

// A Context that does not read the kernel log: dmesg -c would take the AVC lines the scenario needs.
const t = new Context('early', { read: () => 0, lines: [] });
const startUs = monotonicUs();
const table = spawnSync('nft', ['list', 'table', 'inet', 'secmarkc'], { encoding: 'utf8' });
const out = { startUs, tableListed: table.status === 0, tableError: table.stderr.trim().slice(0, 300), results: {} };
try {
  await t.server([{ proto: 'tcp', host: '127.0.0.1', port: 8080 }], { domain: 'smc_server_t' });
  const probe = (id) => ({ id, proto: 'tcp', host: '127.0.0.1', port: 8080, timeoutMs: 5000 });
  Object.assign(out.results, await t.probe([probe('allowed')], { domain: 'smc_a_t' }));
  Object.assign(out.results, await t.probe([probe('forbidden')], { domain: 'smc_b_t' }));
} catch (e) {
  out.error = String(e?.message ?? e);
}
out.endUs = monotonicUs();
await t.cleanup();
writeFileSync('/run/smc-early.json', JSON.stringify(out));
