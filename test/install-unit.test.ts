// `secmarkc install-unit`: the unit text with this installation's absolute paths, checked by
// systemd-analyze verify where it is installed; refusal of paths a unit would need quoted.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderUnit, UnitError } from '../src/systemd/unit.js';
import { ROOT, runCli } from './helpers/cli.js';

const TEMPLATE = readFileSync(join(ROOT, 'packaging/systemd/secmarkc.service'), 'utf8');
const EXAMPLE = join(ROOT, 'examples/browser-proxy.yaml');
const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

function install(args: string[]): { dir: string; text: string; stdout: string; stderr: string; status: number | null } {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-unit-'));
  const r = runCli(['install-unit', '--unit-dir', dir, '--state-dir', join(dir, 'state'), ...args]);
  const path = join(dir, 'secmarkc.service');
  return { dir, text: existsSync(path) ? readFileSync(path, 'utf8') : '', stdout: r.stdout, stderr: r.stderr, status: r.status };
}

test('install-unit writes the unit with absolute paths of this installation and the chosen fallback', (t) => {
  const r = install(['--policy', EXAMPLE, '--on-invalid', 'lockdown']);
  t.is(r.status, 0, r.stderr);
  const node = realpathSync(process.execPath);
  const cli = realpathSync(join(ROOT, 'bin/secmarkc.js'));
  const exec = `${node} --jitless --no-expose-wasm ${cli} apply --on-invalid lockdown --state-dir ${join(r.dir, 'state')} ${EXAMPLE}`;
  t.true(r.text.includes(`\nExecStart=${exec}\n`), r.text);
  t.true(r.text.includes(`\nExecReload=${exec}\n`));
  t.notRegex(r.text, /@[A-Z_]+@/, 'every placeholder filled');
  t.notRegex(r.text, /^ExecStop/m, 'stopping leaves the filter in place');
  for (const line of ['DefaultDependencies=no', 'Wants=network-pre.target', 'Before=network-pre.target sysinit.target shutdown.target', 'Type=oneshot', 'RemainAfterExit=yes', 'WantedBy=sysinit.target']) {
    t.true(r.text.split('\n').includes(line), line);
  }
  t.regex(r.stdout, /is not \/etc\/systemd\/system: enable it yourself/, 'no systemctl for a folder systemd does not read');
});

test('install-unit names the table of a policy that has its own, so fallbacks find its records', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-unit-policy-'));
  const policy = join(dir, 'policy.yaml');
  spawnSync('sh', ['-c', `sed 's/^table: secmarkc/table: office/' ${EXAMPLE} > ${policy}`]);
  const r = install(['--policy', policy]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.text, /apply --on-invalid keep --table office --state-dir/);
});

test('install-unit --dry-run prints the unit and writes nothing; a missing policy is a warning', (t) => {
  const r = install(['--dry-run', '--policy', '/nonexistent/policy.yaml']);
  t.is(r.status, 0, r.stderr);
  t.is(r.text, '', 'nothing written');
  t.regex(r.stdout, /^# would write .*secmarkc\.service\n/);
  t.regex(r.stdout, /ExecStart=.* apply --on-invalid keep .* \/nonexistent\/policy\.yaml\n/);
  t.regex(r.stderr, /warning: \/nonexistent\/policy\.yaml does not exist yet/);
});

test('install-unit refuses a bad --on-invalid and a malformed SELinux context (exit 2)', (t) => {
  const a = install(['--on-invalid', 'ignore']);
  t.is(a.status, 2);
  t.regex(a.stderr, /--on-invalid must be one of fail, keep, lockdown, not "ignore"/);
  const b = install(['--policy', EXAMPLE, '--selinux-context', 'initrc_t; rm -rf /']);
  t.is(b.status, 2);
  t.regex(b.stderr, /is not an SELinux context/);
  const c = install(['--policy', EXAMPLE, '--selinux-context', 'system_u:system_r:initrc_t:s0']);
  t.is(c.status, 0, c.stderr);
  t.regex(c.text, /^SELinuxContext=system_u:system_r:initrc_t:s0$/m);
});

test('a path a unit file would need quoted is refused, not pasted', (t) => {
  const settings = { node: '/usr/bin/node', secmarkc: '/usr/lib/secmarkc/bin/secmarkc.js', installDir: '/usr/lib/secmarkc', stateDir: '/var/lib/secmarkc', onInvalid: 'keep' };
  for (const policy of ['/etc/secmarkc/my policy.yaml', '/etc/%n.yaml', '/etc/$HOME.yaml', 'relative.yaml']) {
    t.throws(() => renderUnit(TEMPLATE, { ...settings, policy }), { instanceOf: UnitError, message: /policy path .* must be an absolute path/ }, policy);
  }
});

const verifyTitle = 'the written unit passes systemd-analyze verify';
(ANALYZE ? test : test.skip)(ANALYZE ? verifyTitle : `${verifyTitle} [skipped: systemd-analyze not installed (Debian package systemd)]`, (t) => {
  const r = install(['--policy', EXAMPLE]);
  t.is(r.status, 0, r.stderr);
  const v = spawnSync(ANALYZE!, ['verify', join(r.dir, 'secmarkc.service')], { encoding: 'utf8' });
  t.is(v.status, 0, v.stderr);
  t.is(v.stderr.split('\n').filter((l) => l.includes('secmarkc.service')).join('\n'), '', 'no complaint about our unit');
});
