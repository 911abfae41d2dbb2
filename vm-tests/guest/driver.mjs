// Guest driver: runs the scenarios named on the command line one after another, each with a
// time budget, prints their results and AVC lines on the console, and cleans up between them.
// Started by the guest init (/sbin/secmarkc-init) in unconfined_t.
import process from 'node:process';
import { setTimeout, clearTimeout } from 'node:timers';
import { Context, Kmsg } from './lib.mjs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { GUEST_DIR, PROJECT } from './lib.mjs';

const MAX_KERNEL_LINES = 300;
class OverBudget extends Error {}
const kmsg = new Kmsg();
const say = (line) => process.stdout.write(`${line}\n`);
// Under systemd the driver is a unit (vm-tests/guest/systemd-setup.mjs) and powers off itself.
const systemdUnit = process.env.SMC_POWEROFF === '1';
if (systemdUnit) say(`SMC-DRIVER uptime=${readFileSync('/proc/uptime', 'utf8').split(' ')[0]}`);

for (const name of process.argv.slice(2)) {
  const t0 = Date.now();
  const t = new Context(name, kmsg);
  say(`SMC-BEGIN ${name}`);
  let status = 'ok';
  try {
    // A name with a slash is a module path in the project (e.g. bench/vm/guest-packet, the
    // per-packet benchmark); any other name is a scenario of vm-tests/scenarios.
    const file = name.includes('/') ? join(PROJECT, `${name}.mjs`) : join(GUEST_DIR, '..', 'scenarios', `${name}.mjs`);
    const mod = await import(pathToFileURL(file).href);
    const budget = (mod.meta?.budgetSec ?? 300) * 1000;
    let timer;
    await Promise.race([
      mod.run(t),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new OverBudget(`over its budget of ${budget / 1000} s`)), budget))),
    ]).finally(() => clearTimeout(timer));
  } catch (e) {
    status = `error ${String(e?.stack ?? e).split('\n').slice(0, 3).join(' | ')}`;
    if (e instanceof OverBudget) {
      // The scenario is still running and cannot be stopped: end the boot rather than let it
      // disturb the next scenarios. The host reports those as not run.
      say(`SMC-END ${name} ${Date.now() - t0} ${status}`);
      powerOff();
      process.exit(2);
    }
  }
  await t.cleanup();
  const kernel = t.kernelSince(t.kmark).filter((line) => /avc:|audit|secmark|nf_tables/i.test(line));
  if (kernel.length > MAX_KERNEL_LINES) t.emit('AVC', `(${kernel.length - MAX_KERNEL_LINES} earlier kernel lines left out)`);
  for (const line of kernel.slice(-MAX_KERNEL_LINES)) t.emit('AVC', line);
  say(`SMC-END ${name} ${Date.now() - t0} ${status}`.replace(/\s+$/, ''));
}

powerOff();

/** The shell init powers off after the driver; under systemd the driver does it (sysrq: immediate). */
function powerOff() {
  if (!systemdUnit) return;
  say('SMC-POWEROFF');
  spawnSync('sync');
  try {
    writeFileSync('/proc/sysrq-trigger', 'o');
  } catch (e) {
    say(`SMC-LOG driver sysrq poweroff failed (${e.message}); systemctl poweroff -ff`);
    spawnSync('systemctl', ['poweroff', '-ff']);
  }
}
