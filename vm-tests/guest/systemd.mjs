// Helpers of the systemd scenarios (11-15): installing secmarkc's unit in a setup, reading unit
// state and the journal once the system is up.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { GUEST_DIR, NODE } from './lib.mjs';
import { P1, PEER4, policy } from './fixtures.mjs';

export const ETC_POLICY = '/etc/secmarkc/policy.yaml';
/** SMC031: port 0 is out of range. */
export const INVALID = policy({ aConnect: [{ to: [PEER4], ports: ['tcp/0'] }] });

/** Setup: the unit as an administrator installs it (install-unit), the result recorded. */
export function installSecmarkc(s, onInvalid) {
  const r = s.secmarkc(['install-unit', '--on-invalid', onInvalid]);
  s.record('installUnit', r);
  return r;
}

/** Setup: smc-early.service, between secmarkc.service and network-pre.target. */
export function earlyProbeUnit(s) {
  s.unit(
    'smc-early.service',
    `[Unit]
Description=secmarkc VM: connections attempted before network-pre.target
DefaultDependencies=no
After=secmarkc.service local-fs.target
Before=network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
SELinuxContext=system_u:system_r:unconfined_t:s0
ExecStart=${NODE} ${join(GUEST_DIR, 'early-probe.mjs')}
`,
    'sysinit.target',
  );
}

export function setupResults(name) {
  try {
    return JSON.parse(readFileSync(`/run/smc-setup/${name}.json`, 'utf8'));
  } catch (e) {
    return { error: `no setup results: ${e.message}` };
  }
}

/** `systemctl show UNIT -p ...` as an object. */
export function unitProps(t, unit, props) {
  const r = t.run(['systemctl', 'show', unit, ...props.flatMap((p) => ['-p', p])], { allowFail: true });
  const out = {};
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export function journal(t, unit) {
  return t.run(['journalctl', '-b', '-u', unit, '--no-pager', '-o', 'cat'], { allowFail: true }).stdout;
}

/** Replace the policy as an editor would: a new file renamed over the old. */
export function writePolicy(text) {
  writeFileSync(`${ETC_POLICY}.new`, text);
  renameSync(`${ETC_POLICY}.new`, ETC_POLICY);
}

/** Setup: install-unit with --json, the report parsed (undefined when it is not JSON). */
export function installSecmarkcJson(s, onInvalid) {
  const r = s.secmarkc(['install-unit', '--on-invalid', onInvalid, '--json']);
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    report = undefined;
  }
  s.record('installUnit', { ...r, report });
  return r;
}

/** Setup: the record an earlier successful apply of P1 from ETC_POLICY leaves (a scratch namespace, no kernel state, no module). */
export function recordP1(s) {
  s.writeFile(ETC_POLICY, P1);
  s.run(['ip', 'netns', 'add', 'scratch']);
  s.record('lastGood', s.secmarkc(['apply', ETC_POLICY, '--no-lsm', '--netns', '/run/netns/scratch']));
  s.run(['ip', 'netns', 'del', 'scratch']);
}

/**
 * Setup: a full apply of `text` from ETC_POLICY as an administrator runs it (module, exclusivity
 * audit, batch, record and the boot file for secmarkc-boot), then the table deleted again, so
 * that what loads it at boot is the unit. Records the apply and whether the boot file is there.
 */
export function appliedBefore(s, text) {
  s.writeFile(ETC_POLICY, text);
  s.record('applied', s.secmarkc(['apply', ETC_POLICY], 600_000));
  s.record('bootFile', existsSync(BOOT_FILE));
  s.record('deleted', s.run(['nft', 'delete', 'table', 'inet', 'secmarkc']));
}

export const BOOT_FILE = '/var/lib/secmarkc/secmarkc.boot';
/** secmarkc-boot's line when it loaded the record (the fast path), and the start of its fallback line. */
export const FAST_PATH = /^secmarkc: loaded table inet secmarkc from the record applied at \S+ \(\d+ bytes, generation \d+\) without compiling$/m;
export const FELL_BACK = /^secmarkc-boot: (.*): running the full apply$/m;

/** The unit's main process, start to exit, from systemd's own monotonic timestamps (ms), and its exit. */
export function mainProcess(t, unit) {
  const p = unitProps(t, unit, ['ExecMainStartTimestampMonotonic', 'ExecMainExitTimestampMonotonic', 'ActiveEnterTimestampMonotonic', 'ExecMainStatus']);
  const start = Number(p.ExecMainStartTimestampMonotonic);
  const exit = Number(p.ExecMainExitTimestampMonotonic);
  return { startUs: start, exitUs: exit, activeUs: Number(p.ActiveEnterTimestampMonotonic), ms: start > 0 && exit >= start ? (exit - start) / 1000 : undefined, status: p.ExecMainStatus };
}

/** Poll `fn` every 250 ms until it returns true or `limitMs` passed: the ms it took, or undefined. */
export async function waitFor(fn, limitMs) {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - t0;
    if (Date.now() - t0 > limitMs) return undefined;
    await sleep(250);
  }
}

/** Whether `nft list table inet secmarkc` finds our table. */
export function tablePresent(t) {
  return t.run(['nft', 'list', 'table', 'inet', 'secmarkc'], { allowFail: true }).code === 0;
}

/**
 * systemd has no job queued or running (every propagated start, restart and reload is done)
 * but the start of the driver's own unit, which lasts as long as the scenarios.
 */
export function noJobs(t) {
  const jobs = t.run(['systemctl', 'list-jobs', '--no-legend'], { allowFail: true }).stdout.split('\n');
  return jobs.every((line) => line.trim() === '' || /\bsmc-driver\.service\b/.test(line));
}
